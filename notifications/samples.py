"""Sample contexts, one per kind of template: what validation renders once and previews show.

Each gives exactly the variables its kind may use (``notifications.variables``), with
plausible values from a real review, so a template that renders here renders for real.
"""

from __future__ import annotations

_SAMPLE_ITEM: dict[str, object] = {
    "recipient_name": "Designated Nurse Safeguarding Children",
    "agency_name": "NHS South East Essex",
    "board_name": "Southend LSCB",
    "review_ref": "southend-iawg-scr-audit-2010",
    "review_name": "SCR follow-up audit 2010",
    "ref": "R1",
    "summary": "Panel terms of reference",
    "due": "1 April 2011",
    "days_overdue": -14,
    "overdue_since": "2 April 2011",
    "urgent": False,
    "state_label": "Open, awaiting evidence",
    "owed": "evidence",
    "owed_by": "NHS South East Essex",
    "expected": "The revised terms of reference and the minutes of the meeting that agreed them",
    "link": "https://signoff.example.org/items/southend-iawg-scr-audit-2010/R1@southend-lscb",
    "reply_to": "signoff+southend-iawg-scr-audit-2010.r1@southend-lscb.example.org",
    "sender_name": "LSCB Business Manager",
    "sender_role": "Business manager",
}
SAMPLE_CONTEXT: dict[str, dict[str, object]] = {  # one per kind
    "sign_in": {
        "recipient_name": "Case Review Panel Member",
        "board_name": "Southend LSCB",
        "sender_name": "LSCB Business Manager",
        "reply_to": "business.manager@southend-lscb.example.org",
        "link": "https://signoff.example.org/sign-in/3q2-7wEXAMPLEx9c0Tt1a2b3c4d5e6f7g8h9i0jKLMNOP",
        "minutes": 15,
    },
    "failures": {
        "recipient_name": "LSCB Business Manager",
        "board_name": "Southend LSCB",
        "sender_name": "signoff",
        "reply_to": "business.manager@southend-lscb.example.org",
        "link": "https://signoff.example.org/",
        "count": 1,
        "failures": [
            {
                "ref": "R1",
                "review_ref": "southend-iawg-scr-audit-2010",
                "kind": "chase",
                "recipient": "named.nurse@sept.example.org",
                "error": "550 mailbox unavailable",
            }
        ],
        "unreachable": [
            {"role": "agency", "items": ["southend-iawg-scr-audit-2010 R3"]},
        ],
    },
    "auto_answer": {
        "written_to": "reply+k5qdhcwzk3aqgs6y.mxz3b6f2wq@replies.southend-lscb.example.org",
        "why": "it had no text and no attachments",
        "advice": "Reply again with your evidence written in the email or attached to it.",
        "board_name": "Southend LSCB",
        "sender_name": "LSCB Business Manager",
        "reply_to": "business.manager@southend-lscb.example.org",
    },
    "request": {**_SAMPLE_ITEM, "days_overdue": -28},
    "receipt": {
        **_SAMPLE_ITEM,
        "state_label": "Evidence submitted, awaiting panel",
        "received": ["1 file", "a written statement"],
    },
    "reminder": {**_SAMPLE_ITEM, "days_overdue": -3},
    "chase": {**_SAMPLE_ITEM, "days_overdue": 9},
    "escalation": {
        **_SAMPLE_ITEM,
        "recipient_name": "Chief Executive",
        "days_overdue": 21,
        "urgent": True,
        "step": 2,
        "escalated_to_role": "Chief Executive",
        "late_agency_name": "NHS South East Essex",
    },
    "digest": {
        "kind": "escalation",
        "urgent": True,
        "recipient_name": "Case Review Panel Chair",
        "board_name": "Southend LSCB",
        "reply_to": "business.manager@southend-lscb.example.org",
        "sender_name": "LSCB Business Manager",
        "sender_role": "Business manager",
        "items": [
            {
                "ref": "R1",
                "summary": "Panel terms of reference",
                "review_ref": "southend-iawg-scr-audit-2010",
                "agency_name": "Southend LSCB",
                "due": "1 April 2011",
                "days_overdue": 9,
                "overdue_since": "2 April 2011",
                "urgent": False,
                "link": "https://signoff.example.org/items/southend-iawg-scr-audit-2010/R1@southend-lscb",
            },
            {
                "ref": "R4",
                "summary": "Referral form audit",
                "review_ref": "southend-iawg-scr-audit-2010",
                "agency_name": "NHS South East Essex",
                "due": "30 April 2011",
                "days_overdue": 43,
                "overdue_since": "1 May 2011",
                "urgent": True,
                "link": "https://signoff.example.org/items/southend-iawg-scr-audit-2010/R4@southend-lscb",
            },
        ],
    },
    "decision": {
        **_SAMPLE_ITEM,
        "days_overdue": 0,
        "decision_label": "Evidence challenged by the panel",
        "state_label": "Challenged by the panel",
    },
}
