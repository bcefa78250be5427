import { SssClient } from './vendor/sss-client.js';

/** The rooms (channel `rooms/<id>`) and how the page names them. */
const ROOMS = [
  { id: 'general_chat', name: 'General chat' },
  { id: 'sport', name: 'Sport' },
  { id: 'fashion', name: 'Fashion' },
  { id: 'private', name: 'Private', password: true },
];
const STATUS_TEXT = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  open: 'Connected',
  reconnecting: 'Reconnecting…',
  closed: 'Disconnected',
};
const GOOD_NEWS_MS = 6_000;
const ROOMS_REFRESH_MS = 5_000;
/** A "typing" tell at most this often, shown this long by the others. */
const TYPING_EVERY_MS = 2_000;
const TYPING_SHOWN_MS = 3_500;
const ERROR_MS = 15_000;
/** Within this many pixels of the bottom, new messages scroll the list down. */
const STICKY_BOTTOM_PX = 48;

const $ = (id) => document.getElementById(id);
const roomName = (id) => ROOMS.find((room) => room.id === id)?.name ?? id;

const state = {
  client: null,
  me: null,
  /** Joined rooms by id (see `newRoom`). */
  rooms: new Map(),
  current: null,
  /** Rooms whose password form is open. */
  askingPassword: null,
  recoveredCount: 0,
  timers: new Map(),
  /** People in each room (from the `rooms` ask), for rooms the page did not join. */
  occupancy: new Map(),
  /** room → Map(name → time it stops showing). */
  typing: new Map(),
  lastTypingSent: 0,
};

/**
 * What the page keeps per joined room. Entries are ordered by `order`: a message or like is
 * `epochIndex * 1e9 + seq`; a join/leave line sits after the last message seen when it arrived.
 */
function newRoom(id, subscription) {
  return {
    id,
    subscription,
    epochIndex: 0,
    entries: new Map(),
    /** `${epochIndex}:${seq}` of a message → Map(user → { liked, eventSeq }). */
    likes: new Map(),
    lastOrder: 0,
    lineCount: 0,
    /** seq bounds of the messages recovered after the latest reconnect: (from, to]. */
    recovered: null,
    seqAtDrop: 0,
    members: [],
  };
}

// ---- notices: good news clears itself, errors stay until the next success (or a while) ----

function notify(text) {
  show('notice', text, GOOD_NEWS_MS);
}

function warn(text) {
  show('alert', text, ERROR_MS);
}

function clearAlert() {
  show('alert', '', 0);
}

function show(id, text, clearAfterMs) {
  clearTimeout(state.timers.get(id));
  $(id).textContent = text;
  if (text && clearAfterMs)
    state.timers.set(
      id,
      setTimeout(() => ($(id).textContent = ''), clearAfterMs),
    );
}

function describeError(error) {
  return error?.message ?? String(error);
}

// ---- sign-in ----

async function restoreSession() {
  try {
    const response = await fetch('/api/session');
    if (response.ok) return void (await start());
  } catch {
    // Offline: the form below still works once the network is back.
  }
  showLogin();
}

function showLogin() {
  $('chat').hidden = true;
  $('login-view').hidden = false;
  $('who').hidden = true;
  $('sign-out').hidden = true;
  $('name').focus();
}

$('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('login-error').textContent = '';
  let response;
  try {
    response = await fetch('/api/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: $('name').value.trim() }),
    });
  } catch {
    $('login-error').textContent = 'The server cannot be reached; try again in a moment.';
    return;
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    const message = Array.isArray(body.message) ? body.message.join(' ') : body.message;
    $('login-error').textContent = message ?? 'Could not sign in.';
    return;
  }
  await start();
});

$('sign-out').addEventListener('click', async () => {
  await fetch('/api/session', { method: 'DELETE' });
  await state.client?.close();
  location.reload();
});

// ---- connection ----

async function start() {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/sss`;
  // A small app: a lost server's pages come back within a quarter second (README, reconnect.spreadWindow).
  const client = new SssClient(url, { reconnect: { spreadWindow: 250 } });
  state.client = client;
  client.on('status', (status) => {
    $('status').textContent = STATUS_TEXT[status] ?? status;
    $('status').dataset.status = status;
  });
  client.on('drop', () => {
    state.recoveredCount = 0;
    for (const room of state.rooms.values()) room.seqAtDrop = room.subscription.position.seq;
  });
  client.on('connect', () => void showInstance());
  client.on('boot', ({ reason }) => warn(`The server ended this session: ${reason}. Reload the page to come back.`));
  client.onTell('dm', (dm) => addDirectMessage(dm));
  client.onTell('typing', ({ room, name }) => showTyping(room, name));
  client.onTell('announcement', ({ text }) => {
    $('announcement').hidden = false;
    $('announcement').textContent = text;
  });
  try {
    await client.connect();
  } catch (error) {
    state.client = null;
    showLogin();
    $('login-error').textContent = `Could not connect: ${describeError(error)}`;
    return;
  }
  state.me = client.userId;
  $('who').textContent = `Signed in as ${client.userId}`;
  $('who').hidden = false;
  $('sign-out').hidden = false;
  $('login-view').hidden = true;
  $('chat').hidden = false;
  renderRooms();
  void refreshOccupancy();
  setInterval(() => void refreshOccupancy(), ROOMS_REFRESH_MS);
  startClock(client);
  await reopenRooms();
}

/** Reopens the rooms this session had open (a reload, another tab), else General chat. */
async function reopenRooms() {
  let open = null;
  try {
    open = await state.client.ask('openRooms');
  } catch {
    // Not remembered: start in General chat.
  }
  const rooms = open?.rooms?.length ? open.rooms : ['general_chat'];
  for (const id of rooms) await join(id, undefined, { remember: false });
  const current = open?.current && state.rooms.has(open.current) ? open.current : rooms[0];
  if (state.rooms.has(current)) await join(current, undefined, { remember: false });
}

/** Keeps the open rooms in the session's data (the private room is left out: it needs its password). */
function rememberOpenRooms() {
  const rooms = [...state.rooms.keys()].filter((id) => id !== 'private');
  const current = rooms.includes(state.current) ? state.current : undefined;
  state.client.tell('openRooms', { rooms, current }).catch(() => undefined);
}

function startClock(client) {
  setInterval(async () => {
    try {
      $('server-time').textContent = new Date(await client.ask('serverTime')).toLocaleTimeString();
    } catch {
      // Shown again on the next tick once reconnected.
    }
  }, 1000);
}

/** Behind a balancer, names the instance serving this page (hidden on a single server). */
async function showInstance() {
  try {
    const instance = await state.client.ask('instance');
    $('instance').hidden = !instance;
    $('instance').textContent = instance ? `server ${instance}` : '';
    $('instance').title = 'The server instance this page is connected to';
  } catch {
    // Shown after the next reconnect.
  }
}

// ---- rooms ----

async function refreshOccupancy() {
  try {
    for (const { room, online } of await state.client.ask('rooms')) state.occupancy.set(room, online);
  } catch {
    return;
  }
  renderRooms();
}

function onlineCount(id) {
  const room = state.rooms.get(id);
  return room ? room.members.length : (state.occupancy.get(id) ?? 0);
}

function renderRooms() {
  $('rooms').replaceChildren(
    ...ROOMS.map(({ id, name }) => {
      const room = state.rooms.get(id);
      const li = document.createElement('li');
      li.dataset.room = id;
      if (room) li.classList.add('joined');
      const open = document.createElement('button');
      open.type = 'button';
      open.className = 'room';
      open.dataset.room = id;
      if (id === state.current) open.setAttribute('aria-current', 'true');
      const label = document.createElement('span');
      label.textContent = name;
      open.append(label);
      const online = onlineCount(id);
      if (online) {
        const count = document.createElement('span');
        count.className = 'count';
        count.textContent = `${online} online`;
        open.append(count);
      }
      open.onclick = () => void join(id);
      li.append(open);
      if (room) {
        const leave = document.createElement('button');
        leave.type = 'button';
        leave.className = 'leave';
        leave.textContent = 'Leave';
        leave.setAttribute('aria-label', `Leave ${name}`);
        leave.onclick = () => void leaveRoom(id);
        li.append(leave);
      }
      return li;
    }),
  );
}

async function join(id, password, { remember = true } = {}) {
  if (!state.rooms.has(id)) {
    const needsPassword = ROOMS.find((room) => room.id === id)?.password;
    if (needsPassword && password === undefined) return askPassword(id);
    let subscription;
    try {
      subscription = await state.client.subscribe(`rooms/${id}`, needsPassword ? { password } : undefined);
    } catch (error) {
      if (error.code === 'WRONG_PASSWORD') {
        $('password-error').textContent = error.message;
        $('room-password').select();
        return;
      }
      warn(`Cannot join ${roomName(id)}: ${describeError(error)}`);
      return;
    }
    closePasswordForm();
    const room = newRoom(id, subscription);
    state.rooms.set(id, room);
    listen(room);
    void loadHistory(room, subscription.position.seq);
    void loadMembers(room);
  }
  clearAlert();
  state.current = id;
  $('room-title').textContent = roomName(id);
  $('say-text').disabled = false;
  $('say-form').querySelector('button').disabled = false;
  renderRooms();
  renderMessages({ scroll: 'bottom' });
  renderOnline();
  renderTyping();
  if (remember) rememberOpenRooms();
}

function askPassword(id) {
  state.askingPassword = id;
  $('password-form').hidden = false;
  $('password-error').textContent = '';
  $('room-password').value = '';
  $('room-password').focus();
}

function closePasswordForm() {
  state.askingPassword = null;
  $('password-form').hidden = true;
  $('password-error').textContent = '';
}

$('password-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if (state.askingPassword) void join(state.askingPassword, $('room-password').value);
});
$('password-cancel').addEventListener('click', closePasswordForm);

function listen(room) {
  const { subscription } = room;
  subscription.on('message', (message, meta) => addMessage(room, meta.seq, message));
  subscription.on('like', (like, meta) => applyLike(room, meta.seq, like));
  subscription.onEvent('resubscribed', ({ recovered, reason }) => {
    // Presence events are not recovered: read who is there now.
    void loadMembers(room);
    if (recovered) {
      room.recovered = { from: room.seqAtDrop, to: subscription.data?.head?.seq ?? room.seqAtDrop };
      return;
    }
    // A new history: what the page shows stays, numbered apart from what comes next.
    room.epochIndex++;
    room.recovered = null;
    warn(lostHistoryText(room.id, reason));
  });
  subscription.onEvent('closed', ({ reason }) => {
    if (reason === 'unsubscribed' || reason === 'client_closed') return;
    state.rooms.delete(room.id);
    if (state.current === room.id) state.current = null;
    warn(`You left ${roomName(room.id)}: ${reason}`);
    renderRooms();
    renderMessages();
  });
  // Presence (join/leave events and the member list), when the server tracks it for rooms.
  subscription.onEvent('join', (member) => memberChanged(room, 'join', member));
  subscription.onEvent('leave', (member) => memberChanged(room, 'leave', member));
}

function lostHistoryText(id, reason) {
  const name = roomName(id);
  if (reason === 'epoch_changed') {
    return `The server restarted and lost the history of ${name}: messages sent while you were disconnected cannot be shown. New messages appear as usual.`;
  }
  if (reason === 'out_of_retention') {
    return `You were away longer than ${name} keeps its history: some messages sent meanwhile cannot be shown.`;
  }
  return `Some messages of ${name} sent while you were disconnected cannot be shown.`;
}

async function leaveRoom(id) {
  const room = state.rooms.get(id);
  state.rooms.delete(id);
  if (state.current === id) {
    state.current = null;
    $('room-title').textContent = 'Pick a room';
    $('say-text').disabled = true;
    $('say-form').querySelector('button').disabled = true;
    $('online').textContent = '';
  }
  renderRooms();
  renderMessages();
  rememberOpenRooms();
  try {
    await room?.subscription.unsubscribe();
    notify(`You left ${roomName(id)}.`);
  } catch (error) {
    warn(`Could not leave ${roomName(id)}: ${describeError(error)}`);
  }
}

/** The room's latest messages and likes, merged by seq with what already arrived live. */
async function loadHistory(room, upToSeq) {
  let events;
  try {
    events = await state.client.ask('history', { room: room.id });
  } catch (error) {
    warn(`Could not load the earlier messages of ${roomName(room.id)}: ${describeError(error)}`);
    return;
  }
  for (const { seq, topic, data } of events) {
    if (seq > upToSeq) continue;
    if (topic === 'message') addMessage(room, seq, data, { history: true });
    if (topic === 'like') applyLike(room, seq, data, { history: true });
  }
  if (room.id === state.current) renderMessages({ scroll: 'bottom' });
}

async function loadMembers(room) {
  if (typeof room.subscription.presence !== 'function') return;
  try {
    room.members = await room.subscription.presence();
  } catch {
    return;
  }
  renderRooms();
  if (room.id === state.current) renderOnline();
}

function memberChanged(room, kind, member) {
  if (kind === 'join' && !room.members.some((m) => m.userId === member.userId)) room.members.push(member);
  if (kind === 'leave') room.members = room.members.filter((m) => m.userId !== member.userId);
  if (member.userId !== state.me) {
    const verb = kind === 'join' ? 'joined' : 'left';
    addLine(room, `${displayName(member)} ${verb} ${roomName(room.id)}`, kind);
  }
  renderRooms();
  if (room.id === state.current) renderOnline();
}

function displayName(member) {
  return member.info?.name ?? member.userId;
}

function renderOnline() {
  const room = state.rooms.get(state.current);
  const names = (room?.members ?? []).map(displayName).sort();
  $('online').textContent = names.length ? `Online: ${names.join(', ')}` : '';
}

// ---- messages ----

function addMessage(room, seq, message, { history = false } = {}) {
  const order = room.epochIndex * 1e9 + seq;
  if (room.entries.has(order)) return;
  const recovered = !history && room.recovered && seq > room.recovered.from && seq <= room.recovered.to;
  room.entries.set(order, { kind: 'message', order, seq, epochIndex: room.epochIndex, ...message, recovered });
  room.lastOrder = Math.max(room.lastOrder, order);
  if (state.typing.get(room.id)?.delete(message.from)) renderTyping();
  if (recovered) {
    state.recoveredCount++;
    const count = state.recoveredCount;
    notify(
      `Back online. ${count} message${count === 1 ? '' : 's'} sent while you were away ${count === 1 ? 'is' : 'are'} highlighted.`,
    );
  }
  if (!history && room.id === state.current) {
    renderMessages({ scroll: message.from === state.me ? 'bottom' : 'follow' });
  }
}

function addLine(room, text, kind) {
  room.lineCount++;
  const order = room.lastOrder + room.lineCount / 1e6;
  room.entries.set(order, { kind, order, text });
  if (room.id === state.current) renderMessages({ scroll: 'follow' });
}

/** A like event: the latest one per person and message wins, so a person counts once. */
function applyLike(room, eventSeq, { seq, by, liked }, { history = false } = {}) {
  const key = `${room.epochIndex}:${seq}`;
  const byUser = room.likes.get(key) ?? new Map();
  room.likes.set(key, byUser);
  const previous = byUser.get(by);
  if (previous && previous.eventSeq >= eventSeq) return;
  byUser.set(by, { liked: liked !== false, eventSeq });
  if (!history && room.id === state.current) renderMessages({ scroll: 'keep' });
}

function likesOf(room, entry) {
  const byUser = room.likes.get(`${entry.epochIndex}:${entry.seq}`);
  const likers = [...(byUser?.entries() ?? [])].filter(([, like]) => like.liked).map(([user]) => user);
  return { count: likers.length, mine: likers.includes(state.me), likers };
}

function renderMessages({ scroll = 'keep' } = {}) {
  const scroller = $('scroller');
  const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < STICKY_BOTTOM_PX;
  const room = state.rooms.get(state.current);
  const entries = room ? [...room.entries.values()].sort((a, b) => a.order - b.order) : [];
  $('messages').replaceChildren(...entries.map((entry) => renderEntry(room, entry)));
  if (scroll === 'bottom' || (scroll === 'follow' && nearBottom)) {
    scroller.scrollTop = scroller.scrollHeight;
    $('jump').hidden = true;
  } else if (scroll === 'follow') {
    $('jump').hidden = false;
  }
}

function renderEntry(room, entry) {
  const li = document.createElement('li');
  if (entry.kind !== 'message') {
    li.className = `line ${entry.kind}`;
    li.textContent = entry.text;
    return li;
  }
  li.className = 'message';
  if (entry.from === state.me) li.classList.add('mine');
  if (entry.epochIndex === room.epochIndex) li.dataset.seq = String(entry.seq);
  li.dataset.text = entry.text;
  const head = document.createElement('div');
  head.className = 'meta';
  const author = document.createElement('strong');
  author.textContent = entry.from;
  head.append(author);
  if (entry.at) {
    const time = document.createElement('time');
    time.dateTime = new Date(entry.at).toISOString();
    time.textContent = new Date(entry.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    head.append(' ', time);
  }
  if (entry.recovered) {
    li.classList.add('recovered');
    const tag = document.createElement('span');
    tag.className = 'tag';
    tag.textContent = 'missed';
    tag.title = 'Sent while you were disconnected';
    head.append(' ', tag);
  }
  const text = document.createElement('p');
  text.className = 'text';
  text.textContent = entry.text;
  li.append(head, text);
  if (entry.epochIndex === room.epochIndex) li.append(likeButton(room, entry));
  return li;
}

function likeButton(room, entry) {
  const { count, mine, likers } = likesOf(room, entry);
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'like';
  button.setAttribute('aria-pressed', String(mine));
  const snippet = entry.text.length > 40 ? `${entry.text.slice(0, 40)}…` : entry.text;
  button.setAttribute(
    'aria-label',
    `Like ${entry.from}'s message "${snippet}", ${count} like${count === 1 ? '' : 's'}`,
  );
  if (likers.length) button.title = `Liked by ${likers.join(', ')}`;
  button.textContent = `${mine ? '♥' : '♡'} ${count}`;
  button.onclick = () =>
    state.client
      .tell('like', { room: room.id, seq: entry.seq, liked: !mine })
      .catch((error) => warn(describeError(error)));
  return button;
}

$('scroller').addEventListener('scroll', () => {
  const scroller = $('scroller');
  if (scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < STICKY_BOTTOM_PX) $('jump').hidden = true;
});
$('jump').addEventListener('click', () => renderMessages({ scroll: 'bottom' }));

$('say-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!state.current) return warn('Pick a room first.');
  try {
    await state.client.tell('say', { room: state.current, text: $('say-text').value });
    $('say-text').value = '';
    clearAlert();
  } catch (error) {
    warn(`Not sent: ${describeError(error)}`);
  }
});

$('say-text').addEventListener('input', () => {
  const now = Date.now();
  if (!state.current || now - state.lastTypingSent < TYPING_EVERY_MS) return;
  state.lastTypingSent = now;
  state.client.tell('typing', { room: state.current }).catch(() => undefined);
});

function showTyping(room, name) {
  const typing = state.typing.get(room) ?? new Map();
  state.typing.set(room, typing);
  typing.set(name, Date.now() + TYPING_SHOWN_MS);
  renderTyping();
  setTimeout(renderTyping, TYPING_SHOWN_MS + 50);
}

function renderTyping() {
  const now = Date.now();
  const typing = state.typing.get(state.current) ?? new Map();
  for (const [name, until] of typing) if (until <= now) typing.delete(name);
  const names = [...typing.keys()].sort();
  $('typing').textContent =
    names.length === 0 ? '' : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
}

// ---- direct messages ----

$('dm-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    await state.client.tell('dm', { to: $('dm-to').value.trim(), text: $('dm-text').value });
    $('dm-text').value = '';
    clearAlert();
  } catch (error) {
    warn(`Not sent: ${describeError(error)}`);
  }
});

function addDirectMessage(dm) {
  const li = document.createElement('li');
  li.textContent = `${dm.from} → ${dm.to}: ${dm.text}`;
  $('dms').append(li);
  if (dm.from !== state.me) notify(`Direct message from ${dm.from}`);
}

void restoreSession();
