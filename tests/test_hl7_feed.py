"""The HL7 v2 scheduling feed end to end: SIU messages sent by a real MLLP client over TCP to the
listener (started here on a free port), answered with ACKs, the sessions booked, moved, cancelled
and marked no-show through the booking service, on SQLite and PostgreSQL.

The messages are the samples under examples/hl7 (segments sent CR-terminated, as on the wire),
changed where a test needs another value.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import hl7
import hl7.mllp
import pytest
from sqlalchemy import func, select

from service.cli.hl7 import make_listener
from service.config import ConfigError, parse_config
from service.db.tables import audit_events, feed_messages, outbox, patients, staff_tasks
from service.db.tables import sessions as sessions_table
from service.domain import hl7_siu
from service.runtime import Interlude
from service.transports.mllp import frame
from tests.helpers import INTERLUDE, ROOT, FakeClock, cli_config, make_config, make_services, run_cli

EXAMPLES = ROOT / "examples" / "hl7"
NY = ZoneInfo("America/New_York")
IMPORTS = """
[imports]
hl7_consent_field = "ZPD-1"
[imports.visit_types]
"KET-IV" = "iv"
"""
# A moment before every sample was sent (the first, S12, at 2027-03-02 14:30 UTC).
NOW = datetime(2027, 3, 2, 14, 45, tzinfo=UTC)


def sample(name: str, **changes: str) -> str:
    """An example message as sent on the wire (segments end in CR), with text replaced."""
    text = (EXAMPLES / f"{name}.hl7").read_text()
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new)
    return text.replace("\n", "\r")


@pytest.fixture
def app(db_url: str) -> Iterator[Interlude]:
    s = make_services(db_url, FakeClock(NOW), config=make_config(db_url, extra=IMPORTS))
    yield s
    s.engine.dispose()


@contextmanager
def listening(app: Interlude, **bounds: Any) -> Iterator[int]:
    """The MLLP listener on a free port, its event loop in a thread; yields the port."""
    listener = make_listener(app, "127.0.0.1", 0, **bounds)
    loop = asyncio.new_event_loop()
    port = loop.run_until_complete(listener.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(listener.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


class Client:
    """A plain MLLP client: a TCP socket, the frame <VT> message <FS><CR>, one ACK per message."""

    def __init__(self, port: int, timeout: float = 10) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.pending = b""

    def send(self, message: str | bytes) -> hl7.Message:
        data = message.encode() if isinstance(message, str) else message
        self.sock.sendall(frame(data))
        return self.ack()

    def ack(self) -> hl7.Message:
        while b"\x1c\r" not in self.pending:
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed before the ACK"
            self.pending += chunk
        block, _, self.pending = self.pending.partition(b"\x1c\r")
        assert block.startswith(b"\x0b")
        return hl7.parse(block[1:].decode())

    def close(self) -> None:
        self.sock.close()


@contextmanager
def client(port: int) -> Iterator[Client]:
    c = Client(port)
    try:
        yield c
    finally:
        c.close()


def msa(ack: hl7.Message) -> tuple[str, str, str]:
    """(MSA-1 code, MSA-2 control id echoed, MSA-3 text)."""
    seg = ack.segment("MSA")
    return (
        str(seg.extract_field(1, 1)),
        str(seg.extract_field(1, 2)),
        str(seg.extract_field(1, 3)),
    )


def session_of(app: Interlude, appointment: str = "APT-20417") -> Any:
    with app.engine.connect() as conn:
        return (
            conn.execute(select(sessions_table).where(sessions_table.c.external_ref == appointment))
            .mappings()
            .one_or_none()
        )


def planned(app: Interlude, session_id: int) -> list[Any]:
    with app.engine.connect() as conn:
        query = select(outbox).where(outbox.c.session_id == session_id).order_by(outbox.c.id)
        return list(conn.execute(query).mappings())


def feed_audit(app: Interlude) -> list[str]:
    with app.engine.connect() as conn:
        query = select(audit_events.c.reason).where(audit_events.c.action == "session.from_feed")
        return [r for (r,) in conn.execute(query.order_by(audit_events.c.id))]


# --- end to end over TCP --------------------------------------------------------------------------


def test_s12_books_the_session_and_its_messages_acknowledged_by_a_library_client(app):
    """hl7.mllp's own client (not our framing) sends the sample S12 and reads the ACK."""

    async def exchange(port: int) -> hl7.Message:
        reader, writer = await hl7.mllp.open_hl7_connection("127.0.0.1", port, encoding="utf-8")
        try:
            writer.writemessage(hl7.parse(sample("s12_new_booking")))
            await writer.drain()
            return await asyncio.wait_for(reader.readmessage(), 10)
        finally:
            writer.close()
            await writer.wait_closed()

    with listening(app) as port:
        ack = asyncio.run(exchange(port))
    assert msa(ack)[:2] == ("AA", "NKC000101")
    assert str(ack.segment("MSH").extract_field(1, 9, 1, 1)) == "ACK"
    session = session_of(app)
    assert session is not None
    assert session["status"] == "booked"
    # 09:00 without an offset: the clinic's wall time (New York, EST before 14 March).
    assert session["start_at"] == datetime(2027, 3, 12, 14, 0, tzinfo=UTC)
    assert (session["modality"], session["duration_minutes"]) == ("iv", 60)
    assert {r["status"] for r in planned(app, session["id"])} == {"pending"}
    assert len(planned(app, session["id"])) > 3
    with app.engine.connect() as conn:
        patient = (
            conn.execute(select(patients).where(patients.c.id == session["patient_id"])).mappings().one()
        )
    assert (patient["external_ref"], patient["first_name"], patient["last_name"]) == (
        "MRN-884213",
        "Maya",
        "Rivera",
    )
    assert (patient["phone"], patient["email"], patient["language"]) == (
        "+12025550143",
        "maya.rivera@example.org",
        "en",
    )
    assert feed_audit(app) == ["booked from hl7 SIU^S12 NKC000101 appointment APT-20417 v20270302093000-0500"]


def test_reschedule_modify_and_cancel_over_one_connection(app):
    with listening(app) as port, client(port) as c:
        assert msa(c.send(sample("s12_new_booking")))[0] == "AA"
        booked = session_of(app)
        before = {r["step_id"]: r["due_at"] for r in planned(app, booked["id"]) if r["status"] == "pending"}

        code, control, text = msa(c.send(sample("s13_reschedule")))
        assert (code, control) == ("AA", "NKC000102")
        assert text.startswith("rescheduled")
        moved = session_of(app)
        assert moved["id"] == booked["id"]
        # 10:00-04:00 is exact whatever the clinic's zone.
        assert moved["start_at"] == datetime(2027, 3, 16, 14, 0, tzinfo=UTC)
        after = {r["step_id"]: r["due_at"] for r in planned(app, booked["id"]) if r["status"] == "pending"}
        assert after and any(after[k] != before[k] for k in after.keys() & before.keys())

        assert msa(c.send(sample("s14_modify")))[0] == "AA"
        assert session_of(app)["duration_minutes"] == 90

        code, _, text = msa(c.send(sample("s15_cancel")))
        assert (code, text) == ("AA", f"cancelled: session {booked['id']}")
    cancelled = session_of(app)
    assert cancelled["status"] == "cancelled"
    # The planned messages are cancelled; what is left to send is the notice of the cancellation.
    left = [r for r in planned(app, booked["id"]) if r["status"] == "pending"]
    assert left and {r["origin"] for r in left} == {"session-change"}
    assert all(r["status"] == "cancelled" for r in planned(app, booked["id"]) if r["step_id"] in before)
    assert [reason.split(" v")[0] for reason in feed_audit(app)] == [
        "booked from hl7 SIU^S12 NKC000101 appointment APT-20417",
        "rescheduled from hl7 SIU^S13 NKC000102 appointment APT-20417",
        "rescheduled from hl7 SIU^S14 NKC000103 appointment APT-20417",
        "cancelled from hl7 SIU^S15 NKC000104 appointment APT-20417",
    ]


def test_s26_marks_the_session_no_show(app):
    with listening(app) as port, client(port) as c:
        assert msa(c.send(sample("s12_new_booking")))[0] == "AA"
        code, _, text = msa(c.send(sample("s26_no_show")))
        assert (code, text) == ("AE", f"MSH-9: session {session_of(app)['id']} has not started yet")
        app.clock.set(datetime(2027, 3, 12, 16, 0, tzinfo=UTC))  # type: ignore[attr-defined]
        code, control, _ = msa(c.send(sample("s26_no_show")))
    assert (code, control) == ("AA", "NKC000105")
    assert session_of(app)["status"] == "no_show"


def test_the_same_control_id_twice_is_acknowledged_and_applied_once(app):
    with listening(app) as port, client(port) as c:
        assert msa(c.send(sample("s12_new_booking")))[0] == "AA"
        assert msa(c.send(sample("s15_cancel")))[0] == "AA"
        # The S12 again (a resend after a lost ACK): applied again it would be refused, the
        # session being cancelled; it is acknowledged as already received and changes nothing.
        code, control, text = msa(c.send(sample("s12_new_booking")))
    assert (code, control) == ("AA", "NKC000101")
    assert "already received" in text
    assert session_of(app)["status"] == "cancelled"
    assert len(feed_audit(app)) == 2
    with app.engine.connect() as conn:
        kept = conn.execute(
            select(func.count()).select_from(feed_messages).where(feed_messages.c.source == "hl7")
        ).scalar_one()
    assert kept == 2


def test_a_message_that_is_not_hl7_or_not_siu_gets_ar_and_the_connection_stays_usable(app):
    with listening(app) as port, client(port) as c:
        code, _, text = msa(c.send(b"hello, this is not HL7"))
        assert code == "AR"
        assert "MSH" in text
        adt = sample("s12_new_booking", **{"SIU^S12^SIU_S12": "ADT^A04^ADT_A01"})
        code, control, text = msa(c.send(adt))
        assert (code, control) == ("AR", "NKC000101")
        assert text.startswith("MSH-9:")
        s17 = sample("s12_new_booking", **{"SIU^S12": "SIU^S17"})
        assert msa(c.send(s17))[0] == "AR"
        # The same connection takes the next message.
        assert msa(c.send(sample("s12_new_booking")))[:2] == ("AA", "NKC000101")
    assert session_of(app)["status"] == "booked"


def test_a_bad_field_gets_ae_naming_the_field_and_changes_nothing(app):
    no_start = sample(
        "s12_new_booking",
        **{
            "^^M60^20270312090000^20270312100000": "^^M60",
            "KET-IV^Ketamine IV infusion^L|20270312090000": "KET-IV^Ketamine IV infusion^L|",
        },
    )
    unknown_type = sample("s12_new_booking", **{"KET-IV^": "MASSAGE^"})
    with listening(app) as port, client(port) as c:
        ack = c.send(no_start)
        code, control, text = msa(ack)
        assert (code, control) == ("AE", "NKC000101")
        assert text.startswith("SCH-11: start time missing")
        err = ack.segment("ERR")
        assert str(err.extract_field(1, 2, 1, 1)) == "SCH"
        assert str(err.extract_field(1, 2, 1, 3)) == "11"
        assert str(err.extract_field(1, 3, 1, 1)) == "101"

        code, _, text = msa(c.send(unknown_type))
        assert code == "AE"
        assert text.startswith("AIS-3: ")
        assert "MASSAGE" in text
        assert session_of(app) is None
        # Answered AE, the control id is not kept: the corrected message is applied.
        assert msa(c.send(sample("s12_new_booking")))[0] == "AA"
    assert session_of(app) is not None


def test_an_out_of_order_reschedule_does_not_move_the_session_back(app):
    older = sample(
        "s13_reschedule",
        NKC000102="NKC000099",
        **{"20270303141500-0500": "20270302120000-0500"},  # made before the S14 below
    )
    older = older.replace("20270316100000-0400", "20270320100000-0400").replace(
        "20270316110000-0400", "20270320110000-0400"
    )
    with listening(app) as port, client(port) as c:
        assert msa(c.send(sample("s12_new_booking", **{"20270302093000": "20270302080000"})))[0] == "AA"
        assert msa(c.send(sample("s14_modify")))[0] == "AA"  # 16 March, sent 4 March
        code, control, text = msa(c.send(older))  # 20 March, sent 2 March: arrives late
    assert (code, control) == ("AA", "NKC000099")
    assert "older than the last message" in text
    session = session_of(app)
    assert session["start_at"] == datetime(2027, 3, 16, 14, 0, tzinfo=UTC)
    assert session["duration_minutes"] == 90
    assert len(feed_audit(app)) == 2


def test_an_oversized_or_slow_client_does_not_block_another(app):
    with listening(app, max_bytes=4000, read_timeout=3) as port:
        slow = socket.create_connection(("127.0.0.1", port), timeout=10)
        big = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            slow.sendall(b"\x0bMSH|^~\\&|SLOW")  # starts a message and stops
            big.sendall(b"\x0b" + sample("s12_new_booking").encode() + b"ZZZ|" + b"x" * 8000)
            reply = big.recv(65536)
            assert b"MSA|AR" in reply
            assert b"larger than 4000 bytes" in reply
            started = time.monotonic()
            with client(port) as c:
                assert msa(c.send(sample("s12_new_booking")))[0] == "AA"
            assert time.monotonic() - started < 2.5  # answered while the slow one still holds on
            assert session_of(app) is not None
            # The slow client is let go at the read timeout; the big one was closed at once.
            assert slow.recv(100) == b""
            assert time.monotonic() - started < 8
            assert big.recv(100) == b""
        finally:
            slow.close()
            big.close()


def test_connections_over_the_limit_are_closed_at_once(app):
    with listening(app, max_connections=1) as port:
        with client(port) as first:
            assert msa(first.send(sample("s12_new_booking")))[0] == "AA"
            with socket.create_connection(("127.0.0.1", port), timeout=5) as second:
                assert second.recv(100) == b""
        deadline = time.monotonic() + 5
        while True:  # the first connection's slot is given back once it is closed
            with client(port) as third:
                try:
                    assert msa(third.send(sample("s13_reschedule")))[0] == "AA"
                    break
                except (AssertionError, ConnectionError):
                    assert time.monotonic() < deadline
                    time.sleep(0.1)


def test_consent_is_read_from_the_configured_field(app):
    no = sample(
        "s12_new_booking",
        **{"ZPD|Y": "ZPD|N", "MRN-884213": "MRN-990001", "APT-20417": "APT-30001", "NKC000101": "N1"},
    )
    with listening(app) as port, client(port) as c:
        assert msa(c.send(sample("s12_new_booking")))[0] == "AA"
        assert msa(c.send(no))[0] == "AA"
    with app.engine.connect() as conn:
        refs = dict(conn.execute(select(patients.c.id, patients.c.external_ref)).all())
        tasks = {refs[r] for (r,) in conn.execute(select(staff_tasks.c.patient_id))}
    assert tasks == {"MRN-990001"}


def test_the_listen_command_answers_and_stops_on_sigterm(tmp_path):
    config = cli_config(tmp_path, IMPORTS)
    assert run_cli("--config", str(config), "init", cwd=tmp_path).returncode == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLUDE_")}
    log = (tmp_path / "listen.log").open("w")
    listener = subprocess.Popen(
        [INTERLUDE, "--config", str(config), "hl7", "listen", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                c = Client(port)
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "listen.log").read_text()
                time.sleep(0.2)
        try:
            assert msa(c.send(sample("s12_new_booking")))[:2] == ("AA", "NKC000101")
            # A broken escape in the e-mail: python-hl7 would log the field's value.
            broken = sample("s13_reschedule", **{"maya.rivera@example.org": "maya.riv\\ra@example\\org"})
            code, _, text = msa(c.send(broken))
            assert (code, text[:7]) == ("AE", "PID-13:")
        finally:
            c.close()
    finally:
        listener.send_signal(signal.SIGTERM)
        code = listener.wait(timeout=30)
        log.close()
    output = (tmp_path / "listen.log").read_text()
    assert code == 0, output
    assert f"listening for HL7 v2 (MLLP) on 127.0.0.1:{port}" in output
    assert "Rivera" not in output and "5550143" not in output  # ids only in the log
    assert "maya" not in output


# --- the mapping alone ----------------------------------------------------------------------------


def read(text: str, consent: str = "ZPD-1") -> hl7_siu.SiuBooking:
    return hl7_siu.read_siu(hl7_siu.parse(text), NY, consent)


def test_times_with_an_offset_are_exact_and_without_are_the_clinics_wall_time():
    assert hl7_siu.timestamp("202707011030", NY, "AIS-4") == datetime(2027, 7, 1, 14, 30, tzinfo=UTC)
    assert hl7_siu.timestamp("20270701103000+0200", NY, "AIS-4") == datetime(2027, 7, 1, 8, 30, tzinfo=UTC)
    with pytest.raises(hl7_siu.BadField, match=r"AIS-4: 20270314023000 does not exist in America/New_York"):
        hl7_siu.timestamp("20270314023000", NY, "AIS-4")
    with pytest.raises(hl7_siu.BadField, match=r"SCH-11: 20271107013000 happens twice"):
        hl7_siu.timestamp("20271107013000", NY, "SCH-11")
    with pytest.raises(hl7_siu.BadField, match=r"SCH-11: '2027-07-01' is not an HL7 date"):
        hl7_siu.timestamp("2027-07-01", NY, "SCH-11")


def test_the_patient_fields():
    text = sample(
        "s12_new_booking",
        **{
            "^PRN^CP^^1^202^5550143~^NET^Internet^maya.rivera@example.org||en": (
                "^PRN^PH^^1^202^5550188~(202)555-0143^ORN^CP~^NET^Internet^m.r@example.org||spa"
            ),
            "ZPD|Y": "ZPD|",
        },
    )
    p = read(text).patient
    assert (p.phone, p.email, p.language, p.consented_sms) == ("(202)555-0143", "m.r@example.org", "es", None)
    assert read(sample("s12_new_booking")).patient.consented_sms is True
    assert read(sample("s12_new_booking"), consent="").patient.consented_sms is None
    with pytest.raises(hl7_siu.BadField, match="ZPD-1: consent 'maybe' is not Y or N"):
        read(sample("s12_new_booking", **{"ZPD|Y": "ZPD|maybe"}))


def test_where_the_appointment_comes_from():
    b = read(sample("s14_modify"))
    assert (b.appointment_id, b.status, b.duration_minutes, b.visit_type) == (
        "APT-20417",
        "booked",
        90,
        "KET-IV",
    )
    assert b.where["start"] == "AIS-4"
    no_ais = read(sample("s12_new_booking").split("\rPV1")[0])
    assert (no_ais.visit_type, no_ais.where["visit_type"], no_ais.where["start"]) == (
        "KETAMINE",
        "SCH-8",
        "SCH-11",
    )
    placer = read(sample("s12_new_booking", **{"|APT-20417^ACMESCHED|": "||"}))
    assert (placer.appointment_id, placer.where["external_id"]) == ("PL-55012", "SCH-1")
    assert read(sample("s15_cancel")).status == "cancelled"
    assert read(sample("s26_no_show")).status == "noshow"
    with pytest.raises(hl7_siu.NotProcessable, match="MSH-10"):
        read(sample("s12_new_booking", NKC000101=""))
    with pytest.raises(hl7_siu.BadField, match="PID-3: patient id missing"):
        read(sample("s12_new_booking", **{"MRN-884213^^^NORTHSIDE^MR": ""}))


def test_the_consent_field_is_checked_when_the_config_loads():
    with pytest.raises(ConfigError, match=r"imports.hl7_consent_field: 'PID' is not a segment field"):
        parse_config('[imports]\nhl7_consent_field = "PID"\n', "test", {})
    assert parse_config('[imports]\nhl7_consent_field = "pd1-12"\n', "test", {}).imports.hl7_consent_field
