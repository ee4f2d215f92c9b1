#!/usr/bin/env python3
"""The SQL differential test's two halves (tests/tests/emulators/sql_diff).

  sql_diff.py generate [--seed N] [--count N] [--rows N]
      Deterministically generates typed expressions (each in its Flink form
      and its DuckDB form) and random rows, and writes
        tests/specs/sql_diff.yaml                    GROUP expressions per pipeline
        tests/tests/emulators/sql_diff/cases.json    the rows and the DuckDB forms
        tests/tests/emulators/sql_diff/cases.rs      a dispatch to transform_<name>
      Run it again only to change the corpus; the files are committed.

  sql_diff.py eval < cases.json > results.json
      Evaluates every DuckDB form over the rows with DuckDB (KT_PYTHON_DUCKDB
      on PYTHONPATH) and prints, per case, one canonical value per row:
      null, a number, a string, a boolean, or {"err": message}.

The DuckDB forms are written so that the two engines agree where Flink's
semantics are the reference (see KNOWN_DIFFERENCES): the test compares the
compiled code's results with DuckDB's, row by row.
"""

import json
import os
import random
import sys

KNOWN_DIFFERENCES = """
Flink semantics the DuckDB forms are written around (the generator never
emits the raw DuckDB equivalent):
- integer / and MOD: Flink's INT / INT is an INT truncated toward zero; DuckDB's
  / is a DOUBLE, so the DuckDB form uses //. Division (and MOD) by zero fails
  the record in this project (Flink throws); DuckDB gives NULL, so the DuckDB
  form raises error() on a zero divisor.
- CAST(DOUBLE AS INT/BIGINT): Flink truncates toward zero, DuckDB rounds: the
  DuckDB form truncates first (trunc).
- CAST(BOOLEAN AS STRING): Flink 'TRUE'/'FALSE', DuckDB 'true'/'false': upper().
- CONCAT: Flink gives NULL if any argument is NULL, DuckDB's concat skips
  NULLs: the DuckDB form uses ||.
- REGEXP_EXTRACT without a match: Flink NULL, DuckDB '': guarded by
  regexp_matches. REGEXP_REPLACE: DuckDB replaces the first match unless 'g'.
- SPLIT_INDEX: Flink NULL past the last piece and on '', DuckDB split_part ''
  : the DuckDB form indexes string_split (NULL past the end) and guards ''.
- DATE_FORMAT: Java patterns vs strftime, translated per pattern.
- TIMESTAMPADD / TIMESTAMPDIFF: INTERVAL arithmetic and date_sub (whole units).
- SIMILAR TO: DuckDB's takes a regular expression (its % and _ are
  literal): the DuckDB form is regexp_full_match with % as .* and _ as .
- FLOOR(ts TO unit): date_trunc (WEEK is left out: Flink floors to Sunday,
  DuckDB to Monday).
- Left out entirely: SQRT/LN/LOG10 of values <= 0 (Flink NaN/-Infinity,
  DuckDB errors: arguments are ABS(x) + 1), CAST(DOUBLE AS STRING) (Java's
  Double.toString vs DuckDB's shortest form), INITCAP (not in DuckDB),
  SUBSTRING with a start of 0 or before the first character, LIKE with
  escapes (Flink's default escape is '\\', DuckDB has none), CAST of strings
  with a fraction to integers (Flink drops the fraction, DuckDB rounds),
  JSON_VALUE (DuckDB returns objects as text), DECIMAL division (DuckDB
  gives a DOUBLE), ROUND on exact DOUBLE ties (Flink rounds the decimal
  text HALF_UP, DuckDB the binary value).
"""

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SPEC = os.path.join(ROOT, "tests/specs/sql_diff.yaml")
CASES_JSON = os.path.join(ROOT, "tests/tests/emulators/sql_diff/cases.json")
CASES_RS = os.path.join(ROOT, "tests/tests/emulators/sql_diff/cases.rs")

# Source columns: name -> (Flink type, DuckDB type, kind)
COLUMNS = [
    ("id", "BIGINT NOT NULL", "BIGINT", "id"),
    ("i", "INT", "INTEGER", "INT"),
    ("j", "INT", "INTEGER", "INT"),
    ("b", "BIGINT", "BIGINT", "BIGINT"),
    ("d", "DOUBLE", "DOUBLE", "DOUBLE"),
    ("e", "DOUBLE", "DOUBLE", "DOUBLE"),
    ("s", "STRING", "VARCHAR", "STRING"),
    ("s2", "STRING", "VARCHAR", "STRING"),
    ("flag", "BOOLEAN", "BOOLEAN", "BOOLEAN"),
    ("dec", "DECIMAL(10, 2)", "DECIMAL(10, 2)", "DECIMAL"),
    ("dec2", "DECIMAL(6, 3)", "DECIMAL(6, 3)", "DECIMAL"),
    ("day", "DATE", "DATE", "DATE"),
    ("ts", "TIMESTAMP(3)", "TIMESTAMP", "TIMESTAMP"),
]

# Expressions per pipeline: every pipeline is one instantiation of the run
# loop in the tests crate, so expressions share pipelines (a failing one
# fails its row for the group; DuckDB's per-expression results say which).
GROUP = 6

# Sink tables by result kind: (table, column type of v0..v{GROUP-1})
SINKS = {
    "BIGINT": ("sd_i", "BIGINT"),
    "DOUBLE": ("sd_d", "DOUBLE"),
    "STRING": ("sd_s", "STRING"),
    "BOOLEAN": ("sd_b", "BOOLEAN"),
    "DATE": ("sd_day", "DATE"),
    "TIMESTAMP": ("sd_ts", "TIMESTAMP(3)"),
}

STRINGS = ["42", "-7", " 13 ", "abc", "", "Hello World", "héllo", "foo,bar,baz", "x_y%z", "2024-01-02",
           "  padded  ", "ABC def GHI", "3000000000", "a,,b", "zzz", "Mary,John"]

INTS = [0, 1, -1, 2, 7, -13, 100, 2147483647, -2147483648, 65536, 46341]


def col(kind):
    return [c[0] for c in COLUMNS if c[3] == kind]


class Gen:
    """Random typed expressions: each a (flink, duckdb) pair of SQL texts."""

    def __init__(self, rng):
        self.r = rng

    def pick(self, xs):
        return self.r.choice(xs)

    def int_lit(self):
        v = self.pick([0, 1, 2, 3, 7, 10, -5, 1000, 2147483000])
        return (str(v), f"CAST({v} AS INTEGER)")

    def nonzero(self, duck, dividend):
        """The divisor `duck`, raising on zero unless the dividend is NULL
        (Flink evaluates both operands, then gives NULL without dividing)."""
        return f"(CASE WHEN ({duck}) = 0 AND ({dividend}) IS NOT NULL THEN error('division by zero') ELSE ({duck}) END)"

    def int_(self, depth):
        """An INT expression."""
        if depth <= 0 or self.r.random() < 0.25:
            if self.r.random() < 0.75:
                c = self.pick(col("INT"))
                return (c, c)
            return self.int_lit()
        k = self.r.randrange(12)
        if k < 3:
            op = self.pick(["+", "-", "*"])
            a, b = self.int_(depth - 1), self.int_(depth - 1)
            return (f"({a[0]} {op} {b[0]})", f"({a[1]} {op} {b[1]})")
        if k == 3:
            a, b = self.int_(depth - 1), self.int_(depth - 1)
            return (f"({a[0]} / {b[0]})", f"({a[1]} // {self.nonzero(b[1], a[1])})")
        if k == 4:
            a, b = self.int_(depth - 1), self.int_(depth - 1)
            return (f"MOD({a[0]}, {b[0]})", f"({a[1]} % {self.nonzero(b[1], a[1])})")
        if k == 5:
            a = self.int_(depth - 1)
            return self.pick([(f"ABS({a[0]})", f"abs({a[1]})"), (f"-({a[0]})", f"-({a[1]})")])
        if k == 6:
            s = self.str_(depth - 1)
            return (f"CHAR_LENGTH({s[0]})", f"length({s[1]})")
        if k == 7:
            c, a, b = self.bool_(depth - 1), self.int_(depth - 1), self.int_(depth - 1)
            return (f"CASE WHEN {c[0]} THEN {a[0]} ELSE {b[0]} END", f"CASE WHEN {c[1]} THEN {a[1]} ELSE {b[1]} END")
        if k == 8:
            a, b = self.int_(depth - 1), self.int_(depth - 1)
            return self.pick([(f"COALESCE({a[0]}, {b[0]})", f"COALESCE({a[1]}, {b[1]})"),
                              (f"NULLIF({a[0]}, {b[0]})", f"NULLIF({a[1]}, {b[1]})")])
        if k == 9:
            d = self.dbl(depth - 1)
            return (f"CAST({d[0]} AS INT)", f"CAST(trunc({d[1]}) AS INTEGER)")
        if k == 10:
            s = self.pick(col("STRING"))
            return (f"CAST({s} AS INT)", f"CAST({s} AS INTEGER)")
        a = self.int_(depth - 1)
        return (f"SIGN({a[0]})", f"CAST(sign({a[1]}) AS INTEGER)")

    def bigint(self, depth):
        """A BIGINT expression."""
        k = self.r.randrange(8)
        if k == 0 or depth <= 0:
            return ("b", "b")
        if k == 1:
            a = self.int_(depth - 1)
            return (f"CAST({a[0]} AS BIGINT)", f"CAST({a[1]} AS BIGINT)")
        if k == 2:
            op = self.pick(["+", "-", "*"])
            a, b = self.bigint(depth - 1), self.bigint(depth - 1)
            return (f"({a[0]} {op} {b[0]})", f"({a[1]} {op} {b[1]})")
        if k == 3:
            a, b = self.bigint(depth - 1), self.int_(depth - 1)
            return (f"({a[0]} / {b[0]})", f"({a[1]} // {self.nonzero(b[1], a[1])})")
        if k == 4:
            unit = self.pick(["YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"])
            t = self.pick([("day", "day"), ("ts", "ts")])
            if unit in ("HOUR", "MINUTE", "SECOND"):
                t = ("ts", "ts")
            return (f"EXTRACT({unit} FROM {t[0]})", f"extract({unit.lower()} FROM {t[1]})")
        if k == 5:
            unit = self.pick(["DAY", "HOUR", "MINUTE", "MONTH", "YEAR"])
            lit = ("CAST('2020-02-29 12:30:00' AS TIMESTAMP(3))", "TIMESTAMP '2020-02-29 12:30:00'")
            (fa, da), (fb, db) = self.pick([(("ts", "ts"), lit), (lit, ("ts", "ts"))])
            return (f"CAST(TIMESTAMPDIFF({unit}, {fa}, {fb}) AS BIGINT)", f"date_sub('{unit.lower()}', {da}, {db})")
        if k == 6:
            a = self.bigint(depth - 1)
            return (f"ABS({a[0]})", f"abs({a[1]})")
        s = self.pick(col("STRING"))
        return (f"CAST({s} AS BIGINT)", f"CAST({s} AS BIGINT)")

    def dbl(self, depth):
        """A DOUBLE expression."""
        if depth <= 0 or self.r.random() < 0.2:
            if self.r.random() < 0.8:
                c = self.pick(col("DOUBLE"))
                return (c, c)
            v = self.pick(["1.5", "0.25", "-2.0", "100.125"])
            return (f"CAST({v} AS DOUBLE)", f"CAST({v} AS DOUBLE)")
        k = self.r.randrange(11)
        if k < 3:
            op = self.pick(["+", "-", "*"])
            a, b = self.dbl(depth - 1), self.dbl(depth - 1)
            return (f"({a[0]} {op} {b[0]})", f"({a[1]} {op} {b[1]})")
        if k == 3:
            a = self.dbl(depth - 1)
            f = self.pick([("ABS", "abs"), ("FLOOR", "floor"), ("CEIL", "ceil")])
            return (f"{f[0]}({a[0]})", f"{f[1]}({a[1]})")
        if k == 4:
            a = self.dbl(depth - 1)
            f = self.pick([("SQRT", "sqrt"), ("LN", "ln"), ("LOG10", "log10")])
            return (f"{f[0]}(ABS({a[0]}) + 1)", f"{f[1]}(abs({a[1]}) + 1)")
        if k == 5:
            a = self.dbl(depth - 1)
            return (f"POWER({a[0]}, 2)", f"pow({a[1]}, 2)")
        if k == 6:
            a = self.dbl(depth - 1)
            return (f"ROUND({a[0]}, 2)", f"round({a[1]}, 2)")
        if k == 7:
            a = self.int_(depth - 1)
            return (f"CAST({a[0]} AS DOUBLE)", f"CAST({a[1]} AS DOUBLE)")
        if k == 8:
            a = self.dbl(depth - 1)
            return (f"SIGN({a[0]})", f"CAST(sign({a[1]}) AS DOUBLE)")
        if k == 9:
            c, a, b = self.bool_(depth - 1), self.dbl(depth - 1), self.dbl(depth - 1)
            return (f"CASE WHEN {c[0]} THEN {a[0]} ELSE {b[0]} END", f"CASE WHEN {c[1]} THEN {a[1]} ELSE {b[1]} END")
        a, b = self.dbl(depth - 1), self.dbl(depth - 1)
        return (f"({a[0]} / {b[0]})", f"({a[1]} / {b[1]})")

    def str_lit(self):
        v = self.pick(["'x'", "'Hello'", "''", "'-'", "'é'"])
        return (v, v)

    def str_(self, depth):
        """A STRING expression."""
        if depth <= 0 or self.r.random() < 0.2:
            if self.r.random() < 0.8:
                c = self.pick(col("STRING"))
                return (c, c)
            return self.str_lit()
        k = self.r.randrange(18)
        a = self.str_(depth - 1)
        if k == 0:
            return self.pick([(f"UPPER({a[0]})", f"upper({a[1]})"), (f"LOWER({a[0]})", f"lower({a[1]})")])
        if k == 1:
            return self.pick([(f"TRIM({a[0]})", f"trim({a[1]})"), (f"LTRIM({a[0]})", f"ltrim({a[1]})"),
                              (f"RTRIM({a[0]})", f"rtrim({a[1]})")])
        if k == 2:
            start = self.pick([1, 2, 3, 5])
            if self.r.random() < 0.5:
                return (f"SUBSTRING({a[0]} FROM {start})", f"substring({a[1]}, {start})")
            n = self.pick([0, 1, 2, 4])
            return (f"SUBSTRING({a[0]} FROM {start} FOR {n})", f"substring({a[1]}, {start}, {n})")
        if k == 3:
            b = self.str_(depth - 1)
            return self.pick([(f"CONCAT({a[0]}, {b[0]})", f"({a[1]} || {b[1]})"), (f"({a[0]} || {b[0]})", f"({a[1]} || {b[1]})")])
        if k == 4:
            b = self.str_(depth - 1)
            return (f"CONCAT_WS('-', {a[0]}, {b[0]})", f"concat_ws('-', {a[1]}, {b[1]})")
        if k == 5:
            frm, to = self.pick([("'l'", "'L'"), ("'o'", "''"), ("','", "';'")])
            return (f"REPLACE({a[0]}, {frm}, {to})", f"replace({a[1]}, {frm}, {to})")
        if k == 6:
            n = self.pick([0, 1, 4, 8])
            f = self.pick(["LPAD", "RPAD"])
            return (f"{f}({a[0]}, {n}, '*.')", f"{f.lower()}({a[1]}, {n}, '*.')")
        if k == 7:
            return self.pick([(f"MD5({a[0]})", f"md5({a[1]})"), (f"SHA256({a[0]})", f"sha256({a[1]})")])
        if k == 8:
            i = self.int_(depth - 1)
            return (f"CAST({i[0]} AS STRING)", f"CAST({i[1]} AS VARCHAR)")
        if k == 9:
            return (f"CAST(flag AS STRING)", f"upper(CAST(flag AS VARCHAR))")
        if k == 10:
            return self.pick([("CAST(day AS STRING)", "CAST(day AS VARCHAR)"),
                              ("CAST(dec AS STRING)", "CAST(dec AS VARCHAR)"),
                              ("CAST(dec + dec2 AS STRING)", "CAST(dec + dec2 AS VARCHAR)"),
                              ("CAST(dec * dec2 AS STRING)", "CAST(dec * dec2 AS VARCHAR)"),
                              ("CAST(dec - dec2 AS STRING)", "CAST(dec - dec2 AS VARCHAR)")])
        if k == 11:
            p, g = self.pick([("'([a-z]+)'", 1), ("'([0-9]+)'", 1), ("'([A-Z])([a-z]*)'", 2), ("'o'", 0)])
            return (f"REGEXP_EXTRACT({a[0]}, {p}, {g})",
                    f"CASE WHEN regexp_matches({a[1]}, {p}) THEN regexp_extract({a[1]}, {p}, {g}) END")
        if k == 12:
            p, rep, drep = self.pick([("'[aeiou]'", "'#'", "'#'"), ("'([a-z])([a-z])'", "'$2$1'", "'\\2\\1'"),
                                      ("' +'", "' '", "' '")])
            return (f"REGEXP_REPLACE({a[0]}, {p}, {rep})", f"regexp_replace({a[1]}, {p}, {drep}, 'g')")
        if k == 13:
            n = self.pick([0, 1, 2])
            return (f"SPLIT_INDEX({a[0]}, ',', {n})",
                    f"CASE WHEN {a[1]} = '' THEN NULL ELSE string_split({a[1]}, ',')[{n + 1}] END")
        if k == 14:
            pat, fmt = self.pick([("yyyy-MM-dd", "%Y-%m-%d"), ("yyyy/MM/dd HH:mm:ss", "%Y/%m/%d %H:%M:%S"),
                                  ("dd.MM.yy", "%d.%m.%y"), ("HH:mm:ss.SSS", "%H:%M:%S.%g")])
            return (f"DATE_FORMAT(ts, '{pat}')", f"strftime(ts, '{fmt}')")
        if k == 15:
            c, b = self.bool_(depth - 1), self.str_(depth - 1)
            return (f"CASE WHEN {c[0]} THEN {a[0]} ELSE {b[0]} END", f"CASE WHEN {c[1]} THEN {a[1]} ELSE {b[1]} END")
        if k == 16:
            b = self.str_(depth - 1)
            return (f"COALESCE({a[0]}, {b[0]}, 'none')", f"COALESCE({a[1]}, {b[1]}, 'none')")
        return (f"CAST({a[0]} AS STRING)", f"CAST({a[1]} AS VARCHAR)")

    def bool_(self, depth):
        """A BOOLEAN expression."""
        if depth <= 0 or self.r.random() < 0.15:
            return self.pick([("flag", "flag"), ("(i > j)", "(i > j)"), ("(s = s2)", "(s = s2)")])
        k = self.r.randrange(12)
        if k < 3:
            op = self.pick(["=", "<>", "<", "<=", ">", ">="])
            a, b = self.pick([(self.int_(depth - 1), self.int_(depth - 1)), (self.dbl(depth - 1), self.dbl(depth - 1)),
                              (self.str_(depth - 1), self.str_(depth - 1))])
            return (f"({a[0]} {op} {b[0]})", f"({a[1]} {op} {b[1]})")
        if k == 3:
            a, b = self.bool_(depth - 1), self.bool_(depth - 1)
            op = self.pick(["AND", "OR"])
            return (f"({a[0]} {op} {b[0]})", f"({a[1]} {op} {b[1]})")
        if k == 4:
            a = self.bool_(depth - 1)
            return (f"(NOT {a[0]})", f"(NOT {a[1]})")
        if k == 5:
            c = self.pick(["i", "s", "d", "flag", "day"])
            n = self.pick(["IS NULL", "IS NOT NULL"])
            return (f"({c} {n})", f"({c} {n})")
        if k == 6:
            a = self.int_(depth - 1)
            return (f"({a[0]} IN (0, 1, 7, 100))", f"({a[1]} IN (0, 1, 7, 100))")
        if k == 7:
            a = self.int_(depth - 1)
            return (f"({a[0]} BETWEEN -10 AND 100)", f"({a[1]} BETWEEN -10 AND 100)")
        if k == 8:
            a = self.str_(depth - 1)
            p = self.pick(["'H%'", "'%o%'", "'_b%'", "'%,%'", "'%'", "''", "'a_c'"])
            n = self.pick(["LIKE", "NOT LIKE"])
            return (f"({a[0]} {n} {p})", f"({a[1]} {n} {p})")
        if k == 9:
            a, b = self.pick([(("s", "s"), ("s2", "s2")), (("i", "i"), ("j", "j"))])
            n = self.pick(["IS DISTINCT FROM", "IS NOT DISTINCT FROM"])
            return (f"({a[0]} {n} {b[0]})", f"({a[1]} {n} {b[1]})")
        if k == 10:
            a = self.str_(depth - 1)
            # DuckDB's SIMILAR TO takes a regular expression (% and _ literal).
            p, rx = self.pick([("'(a|b)%'", "'(a|b).*'"), ("'[0-9]+'", "'[0-9]+'"), ("'%(o|l)+%'", "'.*(o|l)+.*'")])
            return (f"({a[0]} SIMILAR TO {p})", f"regexp_full_match({a[1]}, {rx}, 's')")
        a = self.bool_(depth - 1)
        return self.pick([(f"({a[0]} IS TRUE)", f"({a[1]} IS TRUE)"), (f"({a[0]} IS NOT FALSE)", f"({a[1]} IS NOT FALSE)")])

    def date(self, depth):
        """A DATE expression."""
        k = self.r.randrange(5)
        if k == 0 or depth <= 0:
            return ("day", "day")
        if k == 1:
            return ("CAST(ts AS DATE)", "CAST(ts AS DATE)")
        if k == 2:
            n = self.pick([-40, -1, 1, 31, 400])
            unit = self.pick(["DAY", "MONTH", "YEAR"])
            return (f"TIMESTAMPADD({unit}, {n}, day)", f"CAST(day + INTERVAL ({n}) {unit} AS DATE)")
        if k == 3:
            return self.pick([("TO_DATE(s)", "TRY_CAST(s AS DATE)"), ("TO_DATE('2024-02-29')", "DATE '2024-02-29'")])
        c, a, b = self.bool_(depth - 1), ("day", "day"), ("CAST(ts AS DATE)", "CAST(ts AS DATE)")
        return (f"CASE WHEN {c[0]} THEN {a[0]} ELSE {b[0]} END", f"CASE WHEN {c[1]} THEN {a[1]} ELSE {b[1]} END")

    def timestamp(self, depth):
        """A TIMESTAMP(3) expression."""
        k = self.r.randrange(5)
        if k == 0 or depth <= 0:
            return ("ts", "ts")
        if k == 1:
            unit = self.pick(["SECOND", "MINUTE", "HOUR", "DAY", "MONTH", "YEAR"])
            # Within years 1..9999 (Flink's TIMESTAMP range).
            n = self.pick([-1, 1, 13, 1000, -100000] if unit not in ("MONTH", "YEAR") else [-1, 1, 13, 1000])
            return (f"TIMESTAMPADD({unit}, {n}, ts)", f"ts + INTERVAL ({n}) {unit}")
        if k == 2:
            unit = self.pick(["YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"])
            return (f"FLOOR(ts TO {unit})", f"date_trunc('{unit.lower()}', ts)")
        if k == 3:
            return ("CAST(day AS TIMESTAMP(3))", "CAST(day AS TIMESTAMP)")
        return self.pick([("TO_TIMESTAMP(s)", "TRY_CAST(s AS TIMESTAMP)"),
                          ("TO_TIMESTAMP('2024-01-02 03:04:05')", "TIMESTAMP '2024-01-02 03:04:05'")])


def gen_rows(rng, n):
    rows = []
    for k in range(n):
        def maybe(v):
            return None if rng.random() < 0.12 else v
        day = f"{rng.randrange(1995, 2035):04d}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        at = (f"{rng.randrange(1995, 2035):04d}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d} "
              f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{rng.randrange(1000):03d}")
        rows.append({
            "id": k,
            "i": maybe(rng.choice(INTS) if rng.random() < 0.4 else rng.randrange(-1000, 1000)),
            "j": maybe(rng.choice(INTS) if rng.random() < 0.4 else rng.randrange(-50, 50)),
            "b": maybe(rng.choice([0, 1, -1, 9223372036854775807, -9223372036854775808, 4294967296])
                       if rng.random() < 0.3 else rng.randrange(-10**12, 10**12)),
            "d": maybe(round(rng.uniform(-1000, 1000), 6) if rng.random() < 0.9 else rng.choice([0.0, 1e15, -0.5])),
            "e": maybe(round(rng.uniform(-10, 10), 6) if rng.random() < 0.9 else 0.0),
            "s": maybe(rng.choice(STRINGS)),
            "s2": maybe(rng.choice(STRINGS)),
            "flag": maybe(rng.random() < 0.5),
            "dec": maybe(rng.randrange(-10**8, 10**8) / 100),
            "dec2": maybe(rng.randrange(-10**6, 10**6) / 1000),
            "day": maybe(day),
            "ts": maybe(at),
        })
    return rows


def generate(seed, count, nrows):
    rng = random.Random(seed)
    g = Gen(rng)
    kinds = ["BIGINT"] * 3 + ["INT"] * 5 + ["DOUBLE"] * 4 + ["STRING"] * 6 + ["BOOLEAN"] * 5 + ["DATE"] + ["TIMESTAMP"] * 2
    cases = []
    seen = set()
    while len(cases) < count:
        kind = rng.choice(kinds)
        depth = rng.randrange(1, 4)
        flink, duck = {
            "INT": g.int_, "BIGINT": g.bigint, "DOUBLE": g.dbl, "STRING": g.str_, "BOOLEAN": g.bool_,
            "DATE": g.date, "TIMESTAMP": g.timestamp,
        }[kind](depth)
        if flink in seen:
            continue
        seen.add(flink)
        sink = "BIGINT" if kind == "INT" else kind
        cases.append({"name": f"sd_{len(cases):03d}", "kind": sink, "flink": flink, "duckdb": duck})
    rows = gen_rows(rng, nrows)
    pipelines = groups(cases)
    write_spec(cases, pipelines)
    with open(CASES_JSON, "w") as f:
        json.dump({"seed": seed, "rows": rows, "cases": cases, "pipelines": pipelines}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    write_rust(pipelines)


def groups(cases):
    """Pipelines: the cases of each kind in order, GROUP at a time."""
    out = []
    for kind in SINKS:
        mine = [k for k, c in enumerate(cases) if c["kind"] == kind]
        for g in range(0, len(mine), GROUP):
            out.append({"name": f"sd_{kind.lower()}_{g // GROUP}", "kind": kind, "cases": mine[g:g + GROUP]})
    return out


def write_spec(cases, pipelines):
    out = ["# Generated by scripts/sql_diff.py generate: the SQL differential test's",
           "# expressions (tests/tests/emulators/sql_diff), a few per pipeline. Do not edit.",
           "tables:", "  sd_in:", "    columns:"]
    for name, flink, _, _ in COLUMNS:
        out.append(f"      {name}: {flink}")
    out += ["    with:", "      connector: kinesis", "      stream.arn: arn:aws:kinesis:us-east-1:000000000000:stream/sd-in",
            "      aws.region: us-east-1", "      format: json"]
    for kind, (table, ty) in SINKS.items():
        out += [f"  {table}:", "    columns:"]
        out += [f"      v{k}: {ty}" for k in range(GROUP)]
        out += ["    with:", "      connector: blackhole"]
    out.append("pipelines:")
    for p in pipelines:
        table = SINKS[p["kind"]][0]
        cols = ", ".join(f"v{k}" for k in range(len(p["cases"])))
        exprs = ",\n        ".join(cases[c]["flink"] for c in p["cases"])
        out += [f"  {p['name']}:", "    sql: |", f"      INSERT INTO {table} ({cols})", f"      SELECT {exprs}".replace("\\n", "\n"),
                "      FROM sd_in"]
    with open(SPEC, "w") as f:
        f.write("\n".join(out) + "\n")


def write_rust(pipelines):
    out = ["//! Generated by `scripts/sql_diff.py generate`: calls the compiled",
           "//! `transform_<name>` of each pipeline. Do not edit.",
           "",
           "use kinesis_tables::sql::RecordError;",
           "use kinesis_tables_tests::generated::SdIn;",
           "use kinesis_tables_tests::generated::pipelines::*;",
           "use serde_json::Value;",
           "",
           "use super::differential::canonical;",
           "",
           "/// Pipeline `pipeline`'s compiled expressions on `row`, in the evaluator's form.",
           "pub(super) fn eval(pipeline: usize, row: SdIn) -> Result<Option<Vec<Value>>, RecordError> {",
           "    match pipeline {"]
    for k, p in enumerate(pipelines):
        vals = ", ".join(f"canonical(o.v{c})" for c in range(len(p["cases"])))
        out.append(f"        {k} => transform_{p['name']}(row).map(|o| o.map(|o| vec![{vals}])),")
    out += ["        _ => unreachable!(\"no pipeline {pipeline}\"),", "    }", "}", ""]
    with open(CASES_RS, "w") as f:
        f.write("\n".join(out))
    # As `cargo fmt` leaves it (rustfmt.toml at the root), so the file is stable.
    import subprocess
    subprocess.run(["rustfmt", "--edition", "2024", CASES_RS], cwd=ROOT, check=True)


def canonical(v):
    import datetime
    import decimal
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if v != v:
            return "NaN"
        if v in (float("inf"), float("-inf")):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, datetime.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, datetime.date):
        return v.strftime("%Y-%m-%d")
    return str(v)


def evaluate(request):
    import duckdb
    con = duckdb.connect()
    cols = ", ".join(f"{name} {duck}" for name, _, duck, _ in COLUMNS)
    con.execute(f"CREATE TABLE sd_in ({cols})")
    names = [c[0] for c in COLUMNS]
    marks = ", ".join("?" for _ in names)
    for row in request["rows"]:
        # DECIMAL values as text: exact, as the compiled side reads them.
        values = [str(row[n]) if n in ("dec", "dec2") and row[n] is not None else row[n] for n in names]
        con.execute(f"INSERT INTO sd_in VALUES ({marks})", values)
    ids = [row["id"] for row in request["rows"]]
    results = []
    for case in request["cases"]:
        sql = f"SELECT id, ({case['duckdb']}) FROM sd_in ORDER BY id"
        try:
            got = {i: canonical(v) for i, v in con.execute(sql).fetchall()}
            results.append([got[i] for i in ids])
            continue
        except duckdb.Error:
            pass
        # Some row fails: one row at a time.
        one = []
        for i in ids:
            try:
                (v,) = con.execute(f"SELECT ({case['duckdb']}) FROM sd_in WHERE id = ?", [i]).fetchone()
                one.append(canonical(v))
            except duckdb.Error as e:
                one.append({"err": str(e).splitlines()[0]})
        results.append(one)
    return {"duckdb": duckdb.__version__, "results": results}


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return
    if args[0] == "generate":
        opts = dict(zip(args[1::2], args[2::2]))
        generate(int(opts.get("--seed", 14)), int(opts.get("--count", 300)), int(opts.get("--rows", 40)))
    elif args[0] == "eval":
        json.dump(evaluate(json.load(sys.stdin)), sys.stdout)
    elif args[0] == "check":
        import duckdb
        print(json.dumps({"version": duckdb.__version__}))
    else:
        sys.exit(f"sql_diff.py: unknown command {args[0]!r}")


if __name__ == "__main__":
    main()
