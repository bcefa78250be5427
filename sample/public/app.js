import { SssClient } from './vendor/sss-client.js';

const ROOMS = ['general_chat', 'sport', 'fashion', 'private'];
const $ = (id) => document.getElementById(id);
const state = { client: null, subscriptions: new Map(), current: null, messages: new Map(), recovering: false };

$('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const response = await fetch('/api/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: $('name').value.trim() }),
  });
  if (!response.ok) return notice((await response.json()).message ?? 'Could not start a session.');
  await start();
});

async function start() {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/sss`;
  const client = new SssClient(url);
  state.client = client;
  client.on('status', (status) => {
    $('status').textContent = status;
    $('status').dataset.status = status;
  });
  client.on('drop', () => {
    state.recovering = true;
    notice('Connection lost; reconnecting…');
  });
  client.on('reconnect', ({ recovered }) => {
    notice(
      recovered ? 'Reconnected; missed messages are highlighted.' : 'Reconnected; some history could not be recovered.',
    );
    void showInstance();
    // The missed messages follow the re-subscription: keep marking them for a moment.
    setTimeout(() => (state.recovering = false), 500);
  });
  client.on('boot', ({ reason }) => notice(`Disconnected by the server: ${reason}`));
  client.onTell('dm', (dm) => addListItem($('dms'), `${dm.from} → ${dm.to}: ${dm.text}`));
  client.onTell('announcement', ({ text }) => {
    $('announcement').hidden = false;
    $('announcement').textContent = `${text}`;
  });
  try {
    await client.connect();
  } catch (error) {
    notice(`Could not connect: ${error.message}`);
    return;
  }
  $('who').textContent = `signed in as ${client.userId}`;
  void showInstance();
  $('login').hidden = true;
  $('chat').hidden = false;
  renderRooms();
  setInterval(async () => {
    try {
      $('server-time').textContent = `server time ${new Date(await client.ask('serverTime')).toLocaleTimeString()}`;
    } catch {
      // Shown again on the next tick once reconnected.
    }
  }, 1000);
}

async function showInstance() {
  try {
    $('instance').textContent = `served by ${await state.client.ask('instance')}`;
  } catch {
    // Shown after the next reconnect.
  }
}

function renderRooms() {
  $('rooms').replaceChildren(
    ...ROOMS.map((room) => {
      const li = document.createElement('li');
      li.className = room === state.current ? 'active' : '';
      const open = document.createElement('a');
      open.href = '#';
      open.textContent = room;
      open.onclick = (event) => {
        event.preventDefault();
        void join(room);
      };
      li.append(open);
      if (state.subscriptions.has(room)) {
        const leave = document.createElement('button');
        leave.textContent = 'leave';
        leave.onclick = () => void leaveRoom(room);
        li.append(leave);
      }
      return li;
    }),
  );
}

async function join(room) {
  if (!state.subscriptions.has(room)) {
    const query = room === 'private' ? { password: prompt('Password of the private room?') ?? '' } : undefined;
    try {
      const subscription = await state.client.subscribe(`rooms/${room}`, query);
      state.subscriptions.set(room, subscription);
      state.messages.set(room, []);
      subscription.on('message', (message, meta) => addMessage(room, { ...message, seq: meta.seq }));
      subscription.on('like', ({ seq, by }) => addMessage(room, { from: by, text: `liked #${seq}`, system: true }));
      subscription.onEvent('resubscribed', ({ recovered }) => {
        if (!recovered) notice(`History of ${room} was lost; showing new messages only.`);
      });
      subscription.onEvent('closed', ({ reason }) => {
        state.subscriptions.delete(room);
        notice(`Left ${room}: ${reason}`);
        renderRooms();
      });
    } catch (error) {
      notice(`Cannot join ${room}: ${error.message}`);
      return;
    }
  }
  state.current = room;
  $('room-title').textContent = room;
  renderMessages();
  renderRooms();
}

async function leaveRoom(room) {
  await state.subscriptions.get(room)?.unsubscribe();
  state.subscriptions.delete(room);
  if (state.current === room) state.current = null;
  renderRooms();
  renderMessages();
}

function addMessage(room, message) {
  state.messages.get(room)?.push({ ...message, missed: state.recovering });
  if (room === state.current) renderMessages();
}

function renderMessages() {
  const messages = state.messages.get(state.current) ?? [];
  $('messages').replaceChildren(
    ...messages.map((message) => {
      const li = document.createElement('li');
      if (message.missed) li.className = 'missed';
      if (message.seq) li.dataset.seq = String(message.seq);
      li.dataset.text = message.text;
      const meta = document.createElement('span');
      meta.className = 'meta';
      meta.textContent = message.seq ? `#${message.seq} ${message.from}` : message.from;
      li.append(meta, message.text);
      if (message.seq && !message.system) {
        const like = document.createElement('button');
        like.textContent = 'like';
        like.onclick = () => state.client.tell('like', { room: state.current, seq: message.seq }).catch(showError);
        li.append(' ', like);
      }
      return li;
    }),
  );
}

$('say-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!state.current) return notice('Pick a room first.');
  try {
    await state.client.tell('say', { room: state.current, text: $('say-text').value });
    $('say-text').value = '';
  } catch (error) {
    showError(error);
  }
});

$('dm-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    await state.client.tell('dm', { to: $('dm-to').value.trim(), text: $('dm-text').value });
    $('dm-text').value = '';
  } catch (error) {
    showError(error);
  }
});

function addListItem(list, text) {
  const li = document.createElement('li');
  li.textContent = text;
  list.append(li);
}

function showError(error) {
  notice(`${error.code ?? 'ERROR'}: ${error.message}`);
}

function notice(text) {
  $('notice').textContent = text;
}
