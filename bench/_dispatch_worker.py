"""One dispatch worker process for the benchmarks: the worker's own Dispatcher, looping without
the scheduler's tick between batches, from an agreed start instant until nothing is due.

python -m bench._dispatch_worker CONFIG START_EPOCH   # prints "<sent> <finished epoch>" on stdout
"""

from __future__ import annotations

import sys
import time

from service import logs
from service.bootstrap import build
from service.config import load_config
from service.services.outbox.dispatch import Dispatcher


def main() -> None:
    config_path, start = sys.argv[1], float(sys.argv[2])
    logs.setup()  # as `interlude worker` does: INFO to stderr (the benchmark sends it to a file)
    app = build(load_config(config_path))
    dispatcher = Dispatcher(app)
    app.engine.connect().close()  # connect before the start, as a running worker is connected
    time.sleep(max(0.0, start - time.time()))
    sent, idle = 0, 0
    while idle < 2:
        stats = dispatcher.run_once()
        sent += stats.sent
        idle = 0 if stats.claimed else idle + 1
    print(sent, time.time(), flush=True)


if __name__ == "__main__":
    main()
