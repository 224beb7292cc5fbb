#!/usr/bin/env python3
"""Check the openlmis-v2-v3 mapping pack without ghostlog.

    python3 check.py                      # every *.toml next to this file
    python3 check.py 60-requisitions.toml # some files
    python3 check.py --demo ../../scripts/demo-data/elmis_v2_schema.sql
                                          # also list the v2 tables/columns the
                                          # pack reads that this schema lacks

For each mapping file it checks what ghostlog checks at start (docs/transform.md)
and a bit more:
  * TOML keys: source, target, key, [columns], optional where/each, nothing else;
    every key column is a column;
  * source is a v2 table of tests/fixtures/openlmis/v2_columns.json, target a
    table of tests/fixtures/openlmis/v3_reporting.sql, every target column exists
    there, and every NOT NULL column without a default is written;
  * every expression (each column, where, each) prepares and runs in SQLite the
    way ghostlog runs it:
        SELECT (expr) AS "col", ... FROM (SELECT ?1 AS "c1", ...) AS src [, each] [WHERE (where)]
    with the v2 source columns, once with all NULLs and once with sample values;
  * uuid5(ns, ...) is called with a known namespace (a v2 table name, or one of
    the few synthetic namespaces below), and lookup(table, key[, column]) and
    lookup_by(table, columns, values[, column]) name a v2 table and columns
    that exist.
Exit status 0 when everything passes, 1 otherwise.
"""
import argparse
import glob
import json
import os
import re
import sqlite3
import sys
import tomllib
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
V2_COLUMNS = os.path.join(ROOT, "tests", "fixtures", "openlmis", "v2_columns.json")
V3_SCHEMA = os.path.join(ROOT, "tests", "fixtures", "openlmis", "v3_reporting.sql")

# uuid5 namespaces that are not v2 table names (see README.md, "Ids").
SYNTHETIC_NAMESPACES = {
    "orderables",                # products by code: uuid5('orderables', code)
    "dispensables",              # one dispensable per product code
    "trade_items",               # one trade item per product code
    "stock_adjustment_reasons",  # per-requisition reason copy: (rnrid, type)
    "program_rnr_columns",       # a v2 table not read: one requisition template per program id
}
GHOSTLOG_NAMESPACE = uuid.UUID("9c4a7f8e-2f7b-5b7c-9a51-6d3b1f0e8c21")  # transform/src/uuid5.h
ALLOWED_KEYS = {"source", "target", "key", "where", "each", "columns"}


def uuid5_text(ns, name):
    """ghostlog's uuid5: ns is a UUID text or any text made a namespace first."""
    try:
        nsu = uuid.UUID(ns)
    except ValueError:
        nsu = uuid.uuid5(GHOSTLOG_NAMESPACE, ns)
    return str(uuid.uuid5(nsu, name))


def sql_text(v):
    """How SQLite prints a value as text (what ghostlog joins with '/')."""
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, bytes):
        return v.decode()
    return str(v)


def load_v2(path):
    with open(path) as f:
        doc = json.load(f)
    return doc["tables"]


def load_v3(path):
    """{table: {column: (type, not_null, has_default)}} from CREATE TABLE statements."""
    text = open(path).read()
    tables = {}
    for m in re.finditer(r"CREATE TABLE (public\.\w+) \((.*?)\n\);", text, re.S):
        cols = {}
        for line in m.group(2).split("\n"):
            line = line.strip().rstrip(",")
            if not line or line.startswith("--") or line.upper().startswith(("PRIMARY KEY", "UNIQUE", "CONSTRAINT")):
                continue
            name, rest = line.split(None, 1)
            cols[name] = (rest, "NOT NULL" in rest.upper(), "DEFAULT" in rest.upper())
        tables[m.group(1)] = cols
    return tables


def sample_value(sqltype):
    t = sqltype.lower()
    if t.startswith(("integer", "smallint", "bigint", "int")):
        return 1
    if t.startswith("boolean"):
        return 1
    if t.startswith("numeric"):
        return "12.50"
    if t.startswith("timestamp"):
        return "2024-01-31T23:59:59.5"
    if t.startswith("date"):
        return "2024-01-31"
    return "zone"  # text: also exercises the 'zone' branch of 11-geographic_zones


class Checker:
    def __init__(self, v2, v3):
        self.v2, self.v3 = v2, v3
        self.namespaces = {t.split(".", 1)[1] for t in v2} | SYNTHETIC_NAMESPACES
        self.errors = []
        self.reads = set()  # (table, column) read through lookup()
        self.db = sqlite3.connect(":memory:")
        self.last_error = ""
        self.db.create_function("uuid5", -1, self._remember(self._uuid5), deterministic=True)
        self.db.create_function("lookup", 2, self._remember(self._lookup))
        self.db.create_function("lookup", 3, self._remember(self._lookup))
        self.db.create_function("lookup_by", 3, self._remember(self._lookup_by))
        self.db.create_function("lookup_by", 4, self._remember(self._lookup_by))

    def _remember(self, fn):
        # sqlite3 only says "user-defined function raised exception": keep the reason.
        def wrapped(*args):
            try:
                return fn(*args)
            except Exception as e:
                self.last_error = str(e)
                raise
        return wrapped

    def sql_error(self, ex):
        msg = str(ex)
        if "user-defined function raised exception" in msg and self.last_error:
            msg += ": " + self.last_error
        self.last_error = ""
        return msg

    def _uuid5(self, *args):
        if len(args) < 2:
            raise ValueError("uuid5(namespace, value, ...) needs at least two arguments")
        ns = args[0]
        if not isinstance(ns, str) or ns not in self.namespaces:
            raise ValueError(f"uuid5: unknown namespace {ns!r}")
        if any(a is None for a in args[1:]):
            return None
        return uuid5_text(ns, "/".join(sql_text(a) for a in args[1:]))

    def _lookup(self, table, key, column=None):
        if table not in self.v2:
            raise ValueError(f"lookup: unknown v2 table {table!r}")
        info = self.v2[table]
        if column is not None and column not in info["columns"]:
            raise ValueError(f"lookup({table!r}): no column {column!r}")
        self.reads.add((table, column if column is not None else "*"))
        if key is None:
            return None
        if column is None:
            return json.dumps({c: sample_value(t) for c, t in zip(info["columns"], info["types"])})
        return sample_value(info["types"][info["columns"].index(column)])

    def _lookup_by(self, table, columns, values, column=None):
        if table not in self.v2:
            raise ValueError(f"lookup_by: unknown v2 table {table!r}")
        names = [c.strip() for c in str(columns).split(",")]
        for c in names:
            if c not in self.v2[table]["columns"]:
                raise ValueError(f"lookup_by({table!r}): no column {c!r}")
        if len(names) > 1 and values is not None:
            parts = json.loads(values)
            if not isinstance(parts, list) or len(parts) != len(names):
                raise ValueError(f"lookup_by({table!r}): {len(names)} columns need json_array() of as many values")
        for c in names:
            self.reads.add((table, c))
        return self._lookup(table, values, column)

    def err(self, file, msg):
        self.errors.append(f"{os.path.basename(file)}: {msg}")

    def check_file(self, path):
        try:
            with open(path, "rb") as f:
                doc = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            return self.err(path, f"TOML: {e}")
        for k in doc:
            if k not in ALLOWED_KEYS:
                self.err(path, f"unknown key {k!r}")
        for k in ("source", "target", "key", "columns"):
            if k not in doc:
                return self.err(path, f"{k!r} is missing")
        src, tgt, key, cols = doc["source"], doc["target"], doc["key"], doc["columns"]
        if src not in self.v2:
            return self.err(path, f"source {src!r} is not in v2_columns.json")
        if tgt not in self.v3:
            return self.err(path, f"target {tgt!r} is not in v3_reporting.sql")
        if not isinstance(key, list) or not key:
            return self.err(path, "key must be a non-empty array")
        for k in key:
            if k not in cols:
                self.err(path, f"key column {k!r} is not in [columns]")
        tcols = self.v3[tgt]
        for c in cols:
            if c not in tcols:
                self.err(path, f"column {c!r} is not a column of {tgt}")
        for c, (_, not_null, has_default) in tcols.items():
            if not_null and not has_default and c not in cols:
                self.err(path, f"{tgt}.{c} is NOT NULL without default and not written")
        srccols = self.v2[src]["columns"]
        types = self.v2[src]["types"]
        where, each = doc.get("where", ""), doc.get("each", "")

        def build(select_items):
            sel = ", ".join(f'({e}) AS "{c}"' for c, e in select_items) or "1"
            frm = ", ".join(f'?{i + 1} AS "{c}"' for i, c in enumerate(srccols))
            sql = f"SELECT {sel} FROM (SELECT {frm}) AS src"
            if each:
                sql += ", " + each
            if where:
                sql += f" WHERE ({where})"
            return sql

        null_row = [None] * len(srccols)
        sample_row = [sample_value(t) for t in types]
        # One statement per column first, for precise messages; then the whole.
        items = [("__where", "1")] + list(cols.items())
        for c, e in items:
            for row in (null_row, sample_row):
                try:
                    self.db.execute(build([(c, e)]), row).fetchall()
                except sqlite3.Error as ex:
                    self.err(path, f"{'where/each' if c == '__where' else 'columns.' + c}: {self.sql_error(ex)}")
                    break
        try:
            out = self.db.execute(build(list(cols.items())), sample_row).fetchall()
        except sqlite3.Error as ex:
            self.err(path, f"whole statement: {self.sql_error(ex)}")
            return
        # With sample values every key column must be non-NULL (ghostlog rejects NULL keys).
        names = list(cols)
        for r in out:
            for k in key:
                if k in names and r[names.index(k)] is None:
                    self.err(path, f"key column {k!r} is NULL for a sample row")
        self.used.setdefault(src, set()).update(referenced_columns(cols, where, each, srccols))

    def run(self, files):
        self.used = {}
        for f in files:
            self.check_file(f)
        return self.errors


def strip_strings(expr):
    return re.sub(r"'(?:[^']|'')*'", "''", expr)


def referenced_columns(cols, where, each, srccols):
    text = strip_strings(" ".join(list(cols.values()) + [where, each])).lower()
    words = set(re.findall(r'"([^"]+)"|\b(\w+)\b', text))
    words = {a or b for a, b in words}
    return {c for c in srccols if c in words}


def demo_tables(path):
    text = open(path).read()
    tables = {}
    for m in re.finditer(r"CREATE TABLE (\w+) \((.*?)\);\s*$", text, re.S | re.M):
        body = re.sub(r"\([^()]*\)", "", m.group(2))  # drop varchar(50), REFERENCES x(y)
        tables["public." + m.group(1)] = {p.strip().split()[0] for p in body.split(",")
                                          if p.strip() and not p.strip().upper().startswith(
                                              ("PRIMARY KEY", "UNIQUE", "CONSTRAINT", "FOREIGN KEY", "CHECK"))}
    return tables


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", help="mapping files (default: all *.toml next to this script)")
    ap.add_argument("--v2", default=V2_COLUMNS, help="v2 columns JSON")
    ap.add_argument("--v3", default=V3_SCHEMA, help="v3 reporting schema SQL")
    ap.add_argument("--demo", help="a v2 schema SQL (e.g. our demo generator's): list what it lacks")
    a = ap.parse_args()
    files = a.files or sorted(glob.glob(os.path.join(HERE, "*.toml")))
    ck = Checker(load_v2(a.v2), load_v3(a.v3))
    errors = ck.run(files)
    for e in errors:
        print("ERROR", e)
    print(f"{len(files)} mapping files, {len(errors)} errors")
    if a.demo:
        demo = demo_tables(a.demo)
        need = {t: set(c) for t, c in ck.used.items()}
        for t, c in ck.reads:
            if c != "*":
                need.setdefault(t, set()).add(c)
        print(f"\nv2 tables/columns the pack reads that {os.path.basename(a.demo)} does not create:")
        lacking = [t for t in need if t not in demo or need[t] - demo[t]]
        if not lacking:
            print("  none")
        for t in sorted(need):
            order = ck.v2[t]["columns"]
            if t not in demo:
                print(f"  {t}: whole table ({', '.join(c for c in order if c in need[t])})")
                continue
            missing = [c for c in order if c in need[t] and c not in demo[t]]
            if missing:
                print(f"  {t}: {', '.join(missing)}")
        for t in sorted(demo):
            extra = sorted(demo[t] - set(ck.v2.get(t, {}).get("columns", [])))
            if t in ck.v2 and extra:
                print(f"  (note) {t} has columns the real v2 table lacks: {', '.join(extra)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
