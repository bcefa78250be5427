#!/usr/bin/env bash
# Runs the chat sample scaled out on this machine: Redis, a MongoDB-compatible server (mongod if
# present, else FerretDB), three sample instances and nginx in front as a round-robin balancer
# without sticky sessions.
#
#   bash scripts/scaled-sample.sh start    # prints the URL; state (PIDs, logs, data) in .tmp/scaled
#   bash scripts/scaled-sample.sh stop     # stops exactly what start started, by PID
#
# Ports can be chosen with NGINX_PORT (8080), INSTANCE_PORTS ("3101 3102 3103"), REDIS_PORT (6391)
# and MONGO_PORT (27028); STATE_DIR moves the state folder.
set -euo pipefail
cd "$(dirname "$0")/.."

STATE_DIR=${STATE_DIR:-$PWD/.tmp/scaled}
NGINX_PORT=${NGINX_PORT:-8080}
INSTANCE_PORTS=${INSTANCE_PORTS:-"3101 3102 3103"}
REDIS_PORT=${REDIS_PORT:-6391}
MONGO_PORT=${MONGO_PORT:-27028}

wait_for_port() {
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on port $1; see the logs in $STATE_DIR" >&2
  return 1
}

# Starts a process in the background, keeping its PID for `stop`.
launch() {
  local name=$1
  shift
  "$@" >"$STATE_DIR/$name.log" 2>&1 &
  echo $! >"$STATE_DIR/$name.pid"
}

start() {
  if [ -d "$STATE_DIR" ] && ls "$STATE_DIR"/*.pid >/dev/null 2>&1; then
    echo "Already started (state in $STATE_DIR); run: bash scripts/scaled-sample.sh stop" >&2
    exit 1
  fi
  mkdir -p "$STATE_DIR/mongo-data" "$STATE_DIR/nginx"
  command -v redis-server >/dev/null || { echo 'redis-server is missing: npm run test:services' >&2; exit 1; }
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo 'nginx is missing: apt-get install nginx' >&2; exit 1; }
  local nginx_bin
  nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

  npx tsc -p tsconfig.sample.json

  launch redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no
  if command -v mongod >/dev/null; then
    launch mongo mongod --dbpath "$STATE_DIR/mongo-data" --port "$MONGO_PORT" --bind_ip 127.0.0.1
  else
    local ferretdb
    ferretdb=$(command -v ferretdb || echo "$(go env GOPATH)/bin/ferretdb")
    [ -x "$ferretdb" ] || { echo 'No mongod or ferretdb: npm run test:services' >&2; exit 1; }
    launch mongo "$ferretdb" --handler=sqlite "--sqlite-url=file:$STATE_DIR/mongo-data/" \
      "--listen-addr=127.0.0.1:$MONGO_PORT" "--debug-addr=127.0.0.1:0" \
      "--state-dir=$STATE_DIR/mongo-data" --telemetry=disable --log-level=error
  fi
  wait_for_port "$REDIS_PORT"
  wait_for_port "$MONGO_PORT"

  local index=0 upstreams=''
  for port in $INSTANCE_PORTS; do
    index=$((index + 1))
    # The first instance builds the browser bundle; the others serve the same files.
    INSTANCE_NAME="i$index" PORT=$port REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
      MONGO_URL="mongodb://127.0.0.1:$MONGO_PORT/chat" SESSION_SECRET=${SESSION_SECRET:-scaled-sample-secret} \
      SKIP_CLIENT_BUNDLE=$([ $index = 1 ] && echo 0 || echo 1) \
      launch "instance-$index" node --enable-source-maps dist/sample/main.js
    wait_for_port "$port"
    # max_fails=0: a dead instance refuses the connect and nginx tries the next one at once. With
    # passive health checks (max_fails>0) an upstream is cleared only when a request through it
    # finishes, which an open WebSocket never does: nginx ends up refusing upgrades with 502.
    upstreams+="    server 127.0.0.1:$port max_fails=0;"$'\n'
  done

  cat >"$STATE_DIR/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $STATE_DIR/nginx/nginx.pid;
error_log $STATE_DIR/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $STATE_DIR/nginx/body;
  proxy_temp_path $STATE_DIR/nginx/proxy;
  fastcgi_temp_path $STATE_DIR/nginx/fastcgi;
  uwsgi_temp_path $STATE_DIR/nginx/uwsgi;
  scgi_temp_path $STATE_DIR/nginx/scgi;
  # Round robin, no stickiness: any instance may serve any request or WebSocket.
  upstream chat {
$upstreams  }
  map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://chat;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_read_timeout 1h;
    }
  }
}
CONF
  launch nginx "$nginx_bin" -p "$STATE_DIR/nginx" -c "$STATE_DIR/nginx/nginx.conf" -g 'daemon off;'
  wait_for_port "$NGINX_PORT"
  echo "Scaled chat sample on http://127.0.0.1:$NGINX_PORT/ (3 instances, nginx round robin). Stop: bash scripts/scaled-sample.sh stop"
}

stop() {
  [ -d "$STATE_DIR" ] || return 0
  for name in nginx instance-3 instance-2 instance-1 mongo redis; do
    local pid_file="$STATE_DIR/$name.pid"
    [ -f "$pid_file" ] || continue
    local pid
    pid=$(cat "$pid_file")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pid_file"
  done
  echo "Stopped."
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
