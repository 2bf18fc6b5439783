"""class.json: one class's state, typed (``ClassState``), read and written by ``Classroom``
only. The schema's one owner, as runs/jobfile.py is job.json's."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from resnet_core.classroom.challenge import Challenge, ClassLimits
from resnet_core.i18n import pick


@dataclass
class ClassState:
    limits: ClassLimits = field(default_factory=ClassLimits)
    locked_lesson: str | None = None  # students see this lesson and nothing else
    class_code: str | None = None  # optional; students type it to join
    roster: dict[str, str] = field(default_factory=dict)  # student id -> display name
    rejoin: dict[str, str] = field(default_factory=dict)  # student id -> the rejoin code's nonce
    joined_from: dict[str, str] = field(default_factory=dict)  # student id -> address key, last join
    challenge: Challenge | None = None
    # lesson id -> student id -> the choice they locked in: the teacher sees the tally before
    # the runs reveal the answer (issue 38, item 16)
    votes: dict[str, dict[str, int]] = field(default_factory=dict)
    # The class's language (issue 39): what its pages, its join page and its lessons speak to a
    # student who has not chosen one; None: each browser's own, then the server's default
    language: str | None = None
    # student id -> {"student_id", "email"}: the school's ids from an imported class list
    # (issue 40), for the gradebook; a name joined without a list has none
    enrolled: dict[str, dict] = field(default_factory=dict)
    generation: int = 0  # bumped by reset: older session cookies read as nobody
    name: str = ""  # what the teacher called the class ("Section A"); "" for the first, unnamed
    # Co-teachers' and assistants' links (issue 40): link id -> {"role", "name", "hash" (of the
    # link's token: the token itself is shown once), "made_at"}; revoking one removes it
    staff: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict) -> ClassState:
        challenge = data.get("challenge")
        return cls(limits=ClassLimits.from_dict(data.get("limits") or {}).validate(),
                   locked_lesson=data.get("locked_lesson"), class_code=data.get("class_code"),
                   roster=dict(data.get("roster") or {}), rejoin=dict(data.get("rejoin") or {}),
                   joined_from=dict(data.get("joined_from") or {}),
                   challenge=Challenge.from_dict(challenge) if challenge else None,
                   votes={lesson: {who: int(c) for who, c in dict(by).items()}
                          for lesson, by in dict(data.get("votes") or {}).items()},
                   language=pick(data.get("language")),
                   enrolled={sid: dict(e) for sid, e in dict(data.get("enrolled") or {}).items()},
                   generation=int(data.get("generation") or 0), name=str(data.get("name") or ""),
                   staff={k: dict(v) for k, v in dict(data.get("staff") or {}).items()})

    def to_dict(self) -> dict:
        return {"limits": asdict(self.limits), "locked_lesson": self.locked_lesson, "class_code": self.class_code,
                "roster": self.roster, "rejoin": self.rejoin, "joined_from": self.joined_from,
                "challenge": self.challenge.to_dict() if self.challenge else None,
                "votes": self.votes, "language": self.language, "enrolled": self.enrolled,
                "generation": self.generation, "name": self.name, "staff": self.staff}
