"""A local stand-in for Twilio's Messages API that answers after a fixed delay (benchmark 6).

python -m bench._slow_twilio PORT DELAY_SECONDS

POST .../Messages.json answers 201 with a Message resource (a new sid) after DELAY_SECONDS;
GET /_arrivals returns [arrival time (epoch seconds), SMS segments] of every POST so far, as JSON.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from service.domain.segments import segment_info

_arrivals: list[tuple[float, int]] = []
_lock = threading.Lock()
_sids = itertools.count(1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Twilio's API
    disable_nagle_algorithm = True  # headers and body in separate writes: no 40 ms delayed-ACK stall
    delay = 0.1

    def do_POST(self) -> None:
        arrived = time.time()
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        with _lock:
            _arrivals.append((arrived, segment_info(form.get("Body", [""])[0]).segments))
            sid = f"SM{next(_sids):032x}"
        time.sleep(max(0.0, self.delay - (time.time() - arrived)))
        account = self.path.split("/Accounts/")[1].split("/")[0]
        body = {
            "sid": sid,
            "account_sid": account,
            "to": form.get("To", [""])[0],
            "from": form.get("From", [""])[0],
            "body": form.get("Body", [""])[0],
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
        }
        self._answer(201, body)

    def do_GET(self) -> None:
        with _lock:
            arrivals = list(_arrivals)
        self._answer(200, arrivals)

    def _answer(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    port, delay = int(sys.argv[1]), float(sys.argv[2])
    Handler.delay = delay
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
