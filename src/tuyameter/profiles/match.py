"""Which profile fits the DPs a meter actually reports?"""

from __future__ import annotations

from dataclasses import dataclass, field

from tuyameter.profiles.model import Profile
from tuyameter.tuyamcu.constants import DPType


@dataclass
class ProfileMatch:
    profile: str
    matched: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)  # seen, not in the profile
    wrong_type: list[tuple[int, str, str]] = field(default_factory=list)  # dp, seen, expected
    missing: list[int] = field(default_factory=list)  # readable in the profile, not seen
    product_id_match: bool = False

    @property
    def fits(self) -> bool:
        return bool(self.matched) and not self.unknown and not self.wrong_type

    @property
    def score(self) -> float:
        total = len(self.matched) + len(self.unknown) + len(self.wrong_type) + len(self.missing)
        base = len(self.matched) / total if total else 0.0
        return base + (0.5 if self.product_id_match else 0.0)

    def differences(self) -> list[str]:
        out = [f"dp{dp} seen but not in {self.profile}" for dp in self.unknown]
        out += [f"dp{dp} is {seen}, {self.profile} expects {exp}" for dp, seen, exp in self.wrong_type]
        out += [f"dp{dp} expected by {self.profile} but not seen" for dp in self.missing]
        return out


def match_profile(profile: Profile, seen: dict[int, DPType], product_id: str | None = None) -> ProfileMatch:
    res = ProfileMatch(profile.name, product_id_match=bool(product_id and product_id in profile.product_ids))
    specs = profile.by_dp()
    for dp, t in sorted(seen.items()):
        spec = specs.get(dp)
        if spec is None:
            res.unknown.append(dp)
        elif spec.type != t:
            res.wrong_type.append((dp, t.name.lower(), spec.type.name.lower()))
        else:
            res.matched.append(dp)
    res.missing = sorted(dp for dp, s in specs.items() if dp not in seen and s.access != "wo")
    return res


def best_fit(matches: list[ProfileMatch]) -> str | None:
    """The first of ranked matches when it fits, else None."""
    return matches[0].profile if matches and matches[0].fits else None


def rank_profiles(
    profiles: list[Profile], seen: dict[int, DPType], product_id: str | None = None
) -> list[ProfileMatch]:
    """Best first: fitting profiles before others, then by score."""
    matches = [match_profile(p, seen, product_id) for p in profiles]
    return sorted(matches, key=lambda m: (not m.fits, -m.score, m.profile))


def covering_profile(profiles: list[Profile], seen: dict[int, DPType], product_id: str | None = None) -> Profile | None:
    """The best-ranked profile that has every seen DP (types may differ), or None."""
    by_name = {p.name: p for p in profiles}
    return next((by_name[m.profile] for m in rank_profiles(profiles, seen, product_id) if not m.unknown), None)
