"""Two statistical tests of NIST SP 800-22 Rev. 1a (§2.1 frequency (monobit), §2.3 runs) over the bits of
the temporary PINs a TSM set (TSM-PIN-01; seed 004 p.17 補足1: random, generated fresh each time).

What they can show: with the few hundred bits a test run collects (three temporary-PIN sequences, six PINs,
768 bits for 16-byte PINs; SP 800-22 asks n >= 100 for both tests), a gross bias of ones against zeros
(a counter, text such as hex digits, padding) and a wrong number of runs (bits repeated or alternating, a
value stretched from fewer random bits).
What they cannot show: that the PINs are unpredictable. A counter put through a hash, a generator seeded
with the time or restarted with the same seed, or PINs that repeat across TSM restarts pass both. They
look at the pooled bits only, not at each byte position, and with so few bits only large departures are
seen. ALPHA is small so that a conforming TSM is not failed by chance (each test fails a truly random
source with probability ALPHA); a pass is no evidence of a good generator, only the absence of these flaws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: The significance level: the probability that a truly random sample fails one test (SP 800-22 §1.1.5
#: uses 0.01; smaller here, since the kit fails an implementation on it).
ALPHA = 1e-4
#: SP 800-22 §2.1.7, §2.3.7: each test needs at least 100 bits.
MIN_BITS = 100


@dataclass(frozen=True)
class Result:
    test: str
    n: int
    p_value: float

    @property
    def passed(self) -> bool:
        return self.p_value >= ALPHA


def bits_of(values: list[bytes]) -> list[int]:
    return [(byte >> (7 - i)) & 1 for value in values for byte in value for i in range(8)]


def frequency(bits: list[int]) -> Result:
    """§2.1: S_n = sum(2e - 1), s_obs = |S_n| / sqrt(n), P = erfc(s_obs / sqrt(2))."""
    n = len(bits)
    s_obs = abs(sum(2 * b - 1 for b in bits)) / math.sqrt(n)
    return Result("frequency (monobit)", n, math.erfc(s_obs / math.sqrt(2)))


def runs(bits: list[int]) -> Result:
    """§2.3: with pi the proportion of ones, P = 0 when |pi - 1/2| >= 2/sqrt(n) (the frequency
    prerequisite); otherwise V_n = 1 + number of k with e_k != e_k+1 and
    P = erfc(|V_n - 2 n pi (1 - pi)| / (2 sqrt(2n) pi (1 - pi)))."""
    n = len(bits)
    pi = sum(bits) / n
    if abs(pi - 0.5) >= 2 / math.sqrt(n):
        return Result("runs", n, 0.0)
    v = 1 + sum(1 for k in range(n - 1) if bits[k] != bits[k + 1])
    p = math.erfc(abs(v - 2 * n * pi * (1 - pi)) / (2 * math.sqrt(2 * n) * pi * (1 - pi)))
    return Result("runs", n, p)


def check(values: list[bytes]) -> list[Result]:
    """Both tests over the pooled bits of ``values``; ValueError when there are fewer than MIN_BITS."""
    bits = bits_of(values)
    if len(bits) < MIN_BITS:
        raise ValueError(f"{len(bits)} bits: SP 800-22 needs at least {MIN_BITS}")
    return [frequency(bits), runs(bits)]
