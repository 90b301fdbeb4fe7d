"""Evidence downloads and the quarantine follow the roles table's agency scope (issue 9).

Reproduces "A partner's internal auditor reads every agency's evidence": signed in, the
internal auditor of one trust downloaded another trust's evidence by sequential id and saw
the board-wide quarantine.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from engine.services import Services
from engine.store.tables import new_public_id
from tests.conftest import AUDITOR, BM, PANEL
from tests.web.conftest import NHS, PDF, SEPT, Clock, ask, evidence_file, sign_in

SEPT_AUDITOR = "internal.audit@sept.example.org"


@pytest.fixture
def files(client: TestClient, demo: Services) -> dict[str, str]:
    """One evidence file from each of two trusts: agency id -> the file's public id."""
    sept = evidence_file(client, demo, ask(demo, "T1", "sept"))
    nhs = evidence_file(client, demo, ask(demo, "T2", "nhs-south-east-essex"))
    return {"sept": sept, "nhs-south-east-essex": nhs}


def test_an_auditor_cannot_download_another_trusts_evidence(
    client: TestClient, demo: Services, clock: Clock, files: dict[str, str]
) -> None:
    sign_in(client, demo, AUDITOR, clock)  # internal.audit@ of NHS South East Essex
    own = client.get(f"/evidence/{files['nhs-south-east-essex']}")
    assert own.status_code == 200
    assert own.content == PDF
    unknown = client.get(f"/evidence/{new_public_id()}")
    foreign = client.get(f"/evidence/{files['sept']}")
    assert unknown.status_code == 404
    assert foreign.status_code == 404
    assert foreign.text == unknown.text


def test_sequential_ids_reach_nothing(
    client: TestClient, demo: Services, clock: Clock, files: dict[str, str]
) -> None:
    sign_in(client, demo, BM, clock)
    with demo.db.engine.connect() as conn:
        ids = conn.execute(sa.text("SELECT id FROM evidence")).scalars().all()
    assert ids
    for number in [*ids, *range(1, 40)]:
        assert client.get(f"/evidence/{number}").status_code == 404


def test_an_auditor_does_not_see_the_quarantine(
    client: TestClient, demo: Services, clock: Clock
) -> None:
    hold_a_message(demo)
    sign_in(client, demo, AUDITOR, clock)
    response = client.get("/quarantine")
    assert response.status_code == 404
    assert "someone@elsewhere.example" not in response.text
    assert response.text == client.get("/no-such-page").text


@pytest.mark.parametrize(
    ("person", "may"),
    [
        (BM, {"sept", "nhs-south-east-essex"}),
        (PANEL, {"sept", "nhs-south-east-essex"}),
        (AUDITOR, {"nhs-south-east-essex"}),
        (SEPT_AUDITOR, {"sept"}),
        (SEPT, {"sept"}),
        (NHS, {"nhs-south-east-essex"}),
    ],
    ids=["business_manager", "panel", "nhs_auditor", "sept_auditor", "sept_lead", "nhs_lead"],
)
def test_who_downloads_what(
    client: TestClient,
    demo: Services,
    clock: Clock,
    files: dict[str, str],
    person: str,
    may: set[str],
) -> None:
    sign_in(client, demo, person, clock)
    got = {agency for agency, pid in files.items() if client.get(f"/evidence/{pid}").is_success}
    assert got == may


def test_a_download_is_an_attachment_that_cannot_run(
    client: TestClient, demo: Services, clock: Clock, files: dict[str, str]
) -> None:
    sign_in(client, demo, SEPT, clock)
    response = client.get(f"/evidence/{files['sept']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Ward%20%E2%80%98minutes%E2%80%99%202011.pdf" in disposition
    assert "sandbox" in response.headers["content-security-policy"]


@pytest.mark.parametrize(
    "malformed",
    [
        "9" * 20,  # the 500 of issue 9
        str(2**63),
        "-1",
        "0",
        "1.5",
        "%EF%BC%91",  # a fullwidth digit one
        "ABCDEFGHIJKLMNOP",  # upper case: not one of ours
        "abcdefghijklmnop%0a",
        "abcdefghijklmnopq",
        "abcdefghijklmno",
        "abcdefghijklmn01",  # 0 and 1 are not base32
        "%00",
        "..%2F..%2Fsecret.key",
        "' OR 1=1 --",
    ],
)
def test_a_malformed_evidence_id_is_the_same_404_as_an_unknown_one(
    client: TestClient, demo: Services, clock: Clock, files: dict[str, str], malformed: str
) -> None:
    sign_in(client, demo, BM, clock)
    unknown = client.get(f"/evidence/{new_public_id()}")
    response = client.get(f"/evidence/{malformed}")
    assert response.status_code == 404
    assert response.text == unknown.text
    assert client.get(f"/evidence/{files['sept']}").status_code == 200


def test_the_business_manager_sees_the_quarantine_escaped(
    client: TestClient, demo: Services, clock: Clock
) -> None:
    hold_a_message(demo)
    sign_in(client, demo, BM, clock)
    page = client.get("/quarantine")
    assert page.status_code == 200
    assert "someone@elsewhere.example" in page.text
    assert "&lt;b&gt;not a valid reply address&lt;/b&gt;" in page.text  # escaped, never markup


def test_signed_out_a_download_asks_to_sign_in(
    client: TestClient, demo: Services, files: dict[str, str]
) -> None:
    response = client.get(f"/evidence/{files['sept']}")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=%2Fevidence%2F")


def hold_a_message(services: Services) -> None:
    with services.db.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO inbound_message (message_key, received_at, sender, recipient, status, "
            "reason, raw_sha256, size, evidence_ids) VALUES ('<q1@x>', '2011-01-10 09:00:00', "
            "'someone@elsewhere.example', 'reply+abc.def@localhost', 'quarantined', "
            "'<b>not a valid reply address</b>', 'aa', 10, '[]')"
        )
