"""`python -m local.twilio_emulator --port 4010`: run the emulator on its own until Ctrl-C."""

import argparse
import logging
import os
import secrets
import threading

from local.twilio_emulator import TwilioEmulator


def main() -> None:
    parser = argparse.ArgumentParser(description="Local Twilio REST API emulator (2010-04-01).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4010)
    parser.add_argument("--account-sid", default=os.environ.get("TWILIO_ACCOUNT_SID", "AC" + "0" * 31 + "1"))
    parser.add_argument("--auth-token", default=os.environ.get("TWILIO_AUTH_TOKEN") or secrets.token_hex(16))
    parser.add_argument("--callback-delay", type=float, default=2.0, help="seconds before the verification call")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    emulator = TwilioEmulator(
        args.account_sid, args.auth_token, host=args.host, port=args.port, callback_delay=args.callback_delay
    ).start()
    print(f"Twilio emulator on {emulator.base_url}")
    print(f"  TWILIO_ACCOUNT_SID={emulator.account_sid}")
    print(f"  TWILIO_AUTH_TOKEN={emulator.auth_token}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emulator.stop()


if __name__ == "__main__":
    main()
