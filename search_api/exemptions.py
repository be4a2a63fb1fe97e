"""The exemption and exception codes each regime allows, and checking a code against a request's regime."""

from __future__ import annotations

import re
from dataclasses import dataclass

from search_api.clock import RequestType


@dataclass(frozen=True)
class Exemption:
    code: str
    label: str


def _table(entries: list[tuple[str, str]]) -> dict[str, Exemption]:
    return {code: Exemption(code, label) for code, label in entries}


FOIA = _table(
    [
        ("s21", "Information accessible by other means"),
        ("s22", "Information intended for future publication"),
        ("s22A", "Research information"),
        ("s23", "Security bodies"),
        ("s23(1)", "Information supplied by, or relating to, security bodies"),
        ("s24", "National security"),
        ("s24(1)", "National security"),
        ("s26", "Defence"),
        ("s26(1)", "Defence"),
        ("s27", "International relations"),
        ("s27(1)", "International relations: prejudice"),
        ("s27(2)", "Confidential information from another State or international body"),
        ("s28", "Relations within the UK"),
        ("s29", "The economy"),
        ("s30", "Investigations and proceedings"),
        ("s30(1)", "Investigations and proceedings by public authorities"),
        ("s30(2)", "Confidential sources of investigations"),
        ("s31", "Law enforcement"),
        ("s31(1)", "Law enforcement: prejudice"),
        ("s32", "Court records"),
        ("s33", "Audit functions"),
        ("s34", "Parliamentary privilege"),
        ("s35", "Formulation of government policy"),
        ("s35(1)(a)", "Formulation or development of government policy"),
        ("s35(1)(b)", "Ministerial communications"),
        ("s35(1)(c)", "Law Officers' advice"),
        ("s35(1)(d)", "Operation of a Ministerial private office"),
        ("s36", "Prejudice to effective conduct of public affairs"),
        ("s36(2)(a)", "Collective responsibility of Ministers"),
        ("s36(2)(b)(i)", "Inhibit the free and frank provision of advice"),
        ("s36(2)(b)(ii)", "Inhibit the free and frank exchange of views for deliberation"),
        ("s36(2)(c)", "Otherwise prejudice the effective conduct of public affairs"),
        ("s37", "Communications with His Majesty and honours"),
        ("s37(1)(a)", "Communications with the Sovereign"),
        ("s37(1)(b)", "Conferring of honours or dignities"),
        ("s38", "Health and safety"),
        ("s38(1)(a)", "Endanger physical or mental health"),
        ("s38(1)(b)", "Endanger safety"),
        ("s39", "Environmental information (dealt with under the EIR)"),
        ("s40", "Personal information"),
        ("s40(1)", "The requester's own personal data"),
        ("s40(2)", "Personal data of third parties"),
        ("s41", "Information provided in confidence"),
        ("s42", "Legal professional privilege"),
        ("s43", "Commercial interests"),
        ("s43(1)", "Trade secrets"),
        ("s43(2)", "Prejudice to commercial interests"),
        ("s44", "Prohibitions on disclosure"),
    ]
)

EIR = _table(
    [
        ("12(4)(a)", "Information not held"),
        ("12(4)(b)", "Manifestly unreasonable request"),
        ("12(4)(c)", "Request formulated in too general a manner"),
        ("12(4)(d)", "Material in the course of completion, unfinished documents or incomplete data"),
        ("12(4)(e)", "Internal communications"),
        ("12(5)(a)", "International relations, defence, national security or public safety"),
        ("12(5)(b)", "Course of justice, fair trial, criminal or disciplinary inquiry"),
        ("12(5)(c)", "Intellectual property rights"),
        ("12(5)(d)", "Confidentiality of proceedings"),
        ("12(5)(e)", "Confidentiality of commercial or industrial information"),
        ("12(5)(f)", "Interests of the person who provided the information"),
        ("12(5)(g)", "Protection of the environment"),
        ("13", "Personal data of third parties"),
    ]
)

FOISA = _table(
    [
        ("s25", "Information otherwise accessible"),
        ("s26", "Prohibitions on disclosure"),
        ("s27", "Information intended for future publication"),
        ("s27(1)", "Information intended for future publication"),
        ("s27(2)", "Research programmes"),
        ("s28", "Relations within the United Kingdom"),
        ("s29", "Formulation of Scottish Administration policy"),
        ("s30", "Prejudice to effective conduct of public affairs"),
        ("s30(a)", "Collective responsibility of Scottish Ministers"),
        ("s30(b)(i)", "Inhibit the free and frank provision of advice"),
        ("s30(b)(ii)", "Inhibit the free and frank exchange of views for deliberation"),
        ("s30(c)", "Otherwise prejudice the effective conduct of public affairs"),
        ("s31", "National security and defence"),
        ("s32", "International relations"),
        ("s33", "Commercial interests and the economy"),
        ("s33(1)(a)", "Trade secrets"),
        ("s33(1)(b)", "Substantial prejudice to commercial interests"),
        ("s33(2)", "The economy"),
        ("s34", "Investigations by Scottish public authorities and proceedings"),
        ("s35", "Law enforcement"),
        ("s36", "Confidentiality"),
        ("s36(1)", "Confidentiality of communications in legal proceedings"),
        ("s36(2)", "Information provided in confidence"),
        ("s37", "Court records"),
        ("s38", "Personal information"),
        ("s38(1)(a)", "The requester's own personal data"),
        ("s38(1)(b)", "Personal data of third parties"),
        ("s39", "Health, safety and the environment"),
        ("s39(1)", "Endanger health or safety"),
        ("s39(2)", "Environmental information (dealt with under the EISR)"),
        ("s40", "Audit functions"),
        ("s41", "Communications with His Majesty and honours"),
    ]
)

EISR = _table(
    [
        ("10(4)(a)", "Information not held"),
        ("10(4)(b)", "Manifestly unreasonable request"),
        ("10(4)(c)", "Request formulated in too general a manner"),
        ("10(4)(d)", "Material in the course of completion, unfinished documents or incomplete data"),
        ("10(4)(e)", "Internal communications"),
        ("10(5)(a)", "International relations, defence, national security or public safety"),
        ("10(5)(b)", "Course of justice, fair trial, criminal or disciplinary inquiry"),
        ("10(5)(c)", "Intellectual property rights"),
        ("10(5)(d)", "Confidentiality of proceedings"),
        ("10(5)(e)", "Confidentiality of commercial or industrial information"),
        ("10(5)(f)", "Interests of the person who provided the information"),
        ("10(5)(g)", "Protection of the environment"),
        ("11", "Personal data of third parties"),
    ]
)

DPA_2018 = _table(
    [
        ("Sch2 Para2", "Crime and taxation: general"),
        ("Sch2 Para3", "Crime and taxation: risk assessment systems"),
        ("Sch2 Para4", "Immigration"),
        ("Sch2 Para5", "Information required to be disclosed by law or in connection with legal proceedings"),
        ("Sch2 Para7", "Functions designed to protect the public"),
        ("Sch2 Para8", "Audit functions"),
        ("Sch2 Para9", "Functions of the Bank of England"),
        ("Sch2 Para10", "Regulatory functions relating to legal services, health and children's services"),
        ("Sch2 Para11", "Regulatory functions of certain other persons"),
        ("Sch2 Para12", "Parliamentary privilege"),
        ("Sch2 Para13", "Judicial appointments, judicial independence and judicial proceedings"),
        ("Sch2 Para14", "Crown honours, dignities and appointments"),
        ("Sch2 Para16", "Protection of the rights of others (third-party personal data)"),
        ("Sch2 Para17", "Assumption of reasonableness for health workers etc"),
        ("Sch2 Para19", "Legal professional privilege"),
        ("Sch2 Para20", "Self incrimination"),
        ("Sch2 Para21", "Corporate finance"),
        ("Sch2 Para22", "Management forecasts"),
        ("Sch2 Para23", "Negotiations"),
        ("Sch2 Para24", "Confidential references"),
        ("Sch2 Para25", "Exam scripts and exam marks"),
        ("Sch2 Para26", "Journalistic, academic, artistic and literary purposes"),
        ("Sch2 Para27", "Research and statistics"),
        ("Sch2 Para28", "Archiving in the public interest"),
        ("Sch3 Part2", "Health data (serious harm test)"),
        ("Sch3 Part3", "Social work data"),
        ("Sch3 Part4", "Education data"),
        ("Sch3 Part5", "Child abuse data"),
        ("Sch4", "Disclosure prohibited or restricted by an enactment"),
    ]
)

LEGAL = _table(
    [
        ("LAP", "Legal advice privilege"),
        ("LitP", "Litigation privilege"),
        ("WP", "Without prejudice"),
        ("PII", "Public interest immunity"),
        ("Irrelevant", "Not relevant to the issues"),
        ("Personal data", "Personal data redacted by agreement or order"),
    ]
)

TABLES: dict[RequestType, dict[str, Exemption]] = {
    RequestType.FOI: FOIA,
    RequestType.EIR: EIR,
    RequestType.FOISA: FOISA,
    RequestType.EISR: EISR,
    RequestType.SAR: DPA_2018,
    RequestType.LEGAL: LEGAL,
}

# The code a suggested redaction of someone's personal data is made under, per regime.
THIRD_PARTY_CODE: dict[RequestType, str] = {
    RequestType.FOI: "s40(2)",
    RequestType.EIR: "13",
    RequestType.FOISA: "s38(1)(b)",
    RequestType.EISR: "11",
    RequestType.SAR: "Sch2 Para16",
    RequestType.LEGAL: "Personal data",
}


class UnknownCode(ValueError):
    def __init__(self, code: str, kind: RequestType) -> None:
        valid = ", ".join(TABLES[kind])
        super().__init__(f"{code!r} is not a {kind.value.upper()} code; valid codes: {valid}")
        self.code = code
        self.valid = list(TABLES[kind])


def _key(code: str) -> str:
    """Compare codes the way people write them: 'S.40(2)', 'section 40(2)', 'reg 13', 'Schedule 2 paragraph 16'."""
    key = code.strip().lower()
    key = re.sub(r"\b(schedule|sched)\.?", "sch", key)
    key = re.sub(r"\b(paragraph|para)\.?", "para", key)
    key = re.sub(r"^(section|sect|sec)\b\.?", "s", key)
    key = re.sub(r"^(regulation|reg|r)\b\.?", "", key)
    key = re.sub(r"[\s.]", "", key)
    return key


def canonical_code(kind: RequestType, code: str) -> str:
    """The table's spelling of `code`, or UnknownCode naming the valid ones."""
    wanted = _key(code)
    for known in TABLES[kind]:
        if _key(known) == wanted:
            return known
    raise UnknownCode(code, kind)


def codes_for(kind: RequestType) -> list[Exemption]:
    return list(TABLES[kind].values())
