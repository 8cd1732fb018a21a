"""The worksheet's rules of thumb, in one place: the widgets, the analyses and the reports read them from here.

These are guidance, not statistics (the statistics live in stats.py): how many groups a segment should have,
when a column is an identifier rather than a trait, how small a group a shared report may show, and below
how many units a rate is too noisy to read.
"""

from __future__ import annotations

MIN_SEGMENTS, MAX_SEGMENTS = 3, 8  # "choose 3-8 segments" to compare
MAX_SEGMENT_VALUES = 8  # a segment with more values than this is grouped (or binned) first
ID_LIKE_VALUES = 50  # a column with more values than this, spread over many units, is an identifier
ID_LIKE_SHARE = 0.5  # ... when there is a distinct value for half the units or more
NEAR_UNIQUE = 0.9  # ... or for 90% of the rows that carry one
PRIVACY_MIN_UNITS = 10  # default `privacy.min_units`: smaller groups are hidden in shared reports
RELIABLE_UNITS = 30  # rates on fewer units are shown greyed out; discover ignores smaller groups
DOTS_PER_PERSON = 3  # dot voting: each participant's dots
