#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""storetool - read and forge snapblk store images (selftests helper).

Knows the on-disk format of docs/store-format.md and driver/format.h:
superblock copies A/B (blocks 0, 1), the overlay mapping table (pairs of
4 KiB slots from block 2) and the snapshot store's areas (2 descriptor
slots + 169 data chunks each, from data_start).

  storetool.py dump STORE [--layout overlay|snapshot]
      superblock fields of both copies; overlay: the non-empty table
      entries; snapshot: the snapshot slots and the used descriptors
  storetool.py get STORE FIELD [--copy a|b|current]
  storetool.py set STORE FIELD VALUE [--copy a|b|both|current]
      a superblock field; the copy is re-sealed (valid checksum)
  storetool.py get-entry STORE BLOCK INDEX FIELD [--slot 0|1|current]
  storetool.py set-entry STORE BLOCK INDEX FIELD VALUE [--slot 0|1|both|current]
      entry INDEX (0..507) of table block BLOCK: chunk, valid, zero; with
      INDEX "hdr": the header fields magic, generation, index, reserved
  storetool.py get-desc STORE LOC FIELD [--slot ...]
  storetool.py set-desc STORE LOC FIELD VALUE [--slot ...]
      the descriptor of data chunk LOC: chunk, first, last, flags,
      reserved; LOC "hdr:B" names the header of descriptor block B
  storetool.py entries STORE / descs STORE
      one line per non-empty entry / used descriptor (machine readable)
  storetool.py locate STORE WHAT
      byte offset of sb-a, sb-b, sb (current copy), tb:B or desc:B (the
      current slot of table/descriptor block B), slot:B:S (slot S of
      block B), data:C (data chunk C)
  storetool.py flip STORE OFFSET [MASK]
      XOR the byte at OFFSET with MASK (default 0xff); no checksum fixed;
      OFFSET is a number or WHAT[+N] with WHAT as for locate
  storetool.py copy SRC DST / truncate FILE SIZE / zero FILE
      a sparse copy; change the size (K, M, G suffixes); all zeroes
  storetool.py serve
      run command lines from stdin, each answered with "@@ STATUS" after
      its output (stderr included), for a shell coprocess. Also knows:
      work WORK PRISTINE (copy PRISTINE to WORK and remember it),
      restore WORK (undo every change made to WORK by these commands and
      rewrite the superblock and table blocks: the kernel may have written
      them), dirty WORK (the next restore rewrites all of WORK: something
      else wrote to it), check WORK (compare with the pristine), excl DEV
      (open DEV with O_EXCL: "ok" or the errno name)
  storetool.py batch FILE
      run the storetool command lines in FILE in one process ("#" lines
      name the group that error messages mention); exits 1 if any failed
  storetool.py blockcmp DEV MODEL... [--bs N]
      each block of DEV must equal the same block of one of the MODELs;
      prints how many blocks matched each model (first match wins) and
      exits 1 if any block matched none

Superblock FIELD names are the struct members (reserved[3], snap2.id,
snap2.name ...) or @OFFSET[:B|H|I|Q] for raw bytes of the block.
VALUE: an integer (0x.. accepted) or, for byte fields (uuid, name), a
string padded with NULs, or hex:HEXBYTES.

"current" (the default copy/slot) is what the driver loads: the valid
superblock copy with the higher generation (A on a tie), the valid
table slot with the higher generation (slot 0 on a tie). Editing a slot
that holds no valid copy first makes it an empty block (generation 1);
for "current" that is slot 0. Checksums: CRC-32 as crc32_le() in the
kernel, seed ~0 for superblocks, crc32_le(~0, uuid) for table and
descriptor blocks, computed with the csum field zero.
"""

import argparse
import os
import struct
import sys
import zlib

BLOCK = 4096
SB_MAGIC = 0x314B4C4250414E53
TB_MAGIC = 0x42544253
KIND_OVERLAY, KIND_ORIGIN, KIND_SNAPSHOT = 1, 2, 3
TB_HDR = 32
TB_ENTRIES = (BLOCK - TB_HDR) // 8          # 508
DESC_ENTRIES = (BLOCK - TB_HDR) // 24       # 169
MAX_SNAPS = 32

# name: (offset, struct format)
HEAD = {
    "magic": (0, "Q"), "csum": (8, "I"), "version": (12, "I"),
    "generation": (16, "Q"), "kind": (24, "I"), "flags": (28, "I"),
    "uuid": (32, "16s"),
}
SB_OVERLAY = dict(HEAD, **{
    "name": (48, "32s"), "chunk_shift": (80, "I"), "granule_shift": (84, "I"),
    "parent_sectors": (88, "Q"), "parent_fp": (96, "I"), "state": (100, "I"),
    "parent_uuid": (104, "16s"), "store_sectors": (120, "Q"),
    "nr_chunks": (128, "Q"), "table_blocks": (136, "I"),
    "entries_per_block": (140, "I"), "data_start": (144, "Q"),
    "data_chunks": (152, "Q"),
})
for _i in range(16):
    SB_OVERLAY["reserved[%d]" % _i] = (160 + 8 * _i, "Q")

SB_SNAPSHOT = dict(HEAD, **{
    "chunk_shift": (48, "I"), "next_id": (52, "I"), "origin_sectors": (56, "Q"),
    "reserved1": (64, "I"), "reserved0": (68, "I"), "store_sectors": (72, "Q"),
    "data_start": (80, "Q"), "data_chunks": (88, "Q"),
})
for _i in range(8):
    SB_SNAPSHOT["reserved[%d]" % _i] = (96 + 8 * _i, "Q")
SNAP_OFF, SNAP_SIZE = 160, 64
SNAP_FIELDS = {
    "id": (0, "I"), "flags": (4, "I"), "created": (8, "Q"), "name": (16, "32s"),
    "fp": (48, "I"), "reserved0": (52, "I"), "reserved": (56, "Q"),
}
for _s in range(MAX_SNAPS):
    for _f, (_o, _t) in SNAP_FIELDS.items():
        SB_SNAPSHOT["snap%d.%s" % (_s, _f)] = (SNAP_OFF + SNAP_SIZE * _s + _o, _t)

TB_HEADER = {"csum": (0, "I"), "magic": (4, "I"), "generation": (8, "Q"),
             "index": (16, "Q"), "reserved": (24, "Q")}
ENTRY = {"chunk": (0, "I"), "valid": (4, "H"), "zero": (6, "H")}
DESC = {"chunk": (0, "Q"), "first": (8, "I"), "last": (12, "I"),
        "flags": (16, "I"), "reserved": (20, "I")}


class ToolError(Exception):
    pass


# serve: what each command changed in a file, so that restore can undo it
JOURNAL = {}


def journal(path, off, length):
    """Record a change of @path: a byte range, or (None) a size change."""
    key = os.path.realpath(path)
    if key in JOURNAL:
        JOURNAL[key].append((off, length))


def crc32_le(seed, data):
    """Linux crc32_le(seed, data) (no final inversion)."""
    return zlib.crc32(data, seed ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


def uuid_seed(uuid):
    return crc32_le(0xFFFFFFFF, uuid)


def get_field(buf, off, fmt):
    return struct.unpack_from("<" + fmt, buf, off)[0]


def parse_value(text, fmt):
    if fmt.endswith("s"):
        size = int(fmt[:-1])
        if text.startswith("hex:"):
            raw = bytes.fromhex(text[4:])
        else:
            raw = text.encode("latin-1")
        if len(raw) > size:
            raise ToolError("value longer than the field (%d bytes)" % size)
        return raw.ljust(size, b"\0")
    v = int(text, 0)
    bits = {"Q": 64, "I": 32, "H": 16, "B": 8}[fmt]
    if v < 0:
        v &= (1 << bits) - 1
    if v >= 1 << bits:
        raise ToolError("value %s does not fit in %d bits" % (text, bits))
    return v


def put_field(buf, off, fmt, value):
    struct.pack_into("<" + fmt, buf, off, value)


def fmt_value(v):
    if isinstance(v, bytes):
        s = v.rstrip(b"\0")
        if all(32 <= c < 127 for c in s) and b"\0" not in s:
            return '"%s"' % s.decode()
        return "hex:" + v.hex()
    return "%d (0x%x)" % (v, v)


class Store:
    def __init__(self, path, writable=False):
        self.path = path
        self.f = open(path, "r+b" if writable else "rb")
        self.f.seek(0, os.SEEK_END)
        self.size = self.f.tell()
        self.sb = [self.read(0), self.read(BLOCK)]
        self.sb_valid = [self._sb_check(b) for b in self.sb]
        self.layout = None

    def close(self):
        self.f.close()

    def read(self, off, n=BLOCK):
        self.f.seek(off)
        data = self.f.read(n)
        return bytearray(data.ljust(n, b"\0"))

    def write(self, off, data):
        if off + len(data) > self.size:
            raise ToolError("offset %d is beyond the end of %s" % (off, self.path))
        self.f.seek(off)
        self.f.write(data)
        self.f.flush()
        journal(self.path, off, len(data))

    # ---- superblock
    @staticmethod
    def _sb_check(b):
        if get_field(b, 0, "Q") != SB_MAGIC:
            return False
        z = bytearray(b)
        put_field(z, 8, "I", 0)
        return crc32_le(0xFFFFFFFF, bytes(z)) == get_field(b, 8, "I")

    @staticmethod
    def sb_seal(b):
        put_field(b, 8, "I", 0)
        put_field(b, 8, "I", crc32_le(0xFFFFFFFF, bytes(b)))

    def sb_gen(self, i):
        return get_field(self.sb[i], 16, "Q")

    def current_sb(self):
        """Index of the copy the driver loads, or None."""
        va, vb = self.sb_valid
        if not va and not vb:
            return None
        if not va or (vb and self.sb_gen(1) > self.sb_gen(0)):
            return 1
        return 0

    def pick_sb(self, which):
        if which == "a":
            return [0]
        if which == "b":
            return [1]
        if which == "both":
            return [0, 1]
        cur = self.current_sb()
        if cur is None:
            raise ToolError("no valid superblock copy (use --copy a|b)")
        return [cur]

    def set_layout(self, name=None):
        if name is None:
            cur = self.current_sb()
            b = self.sb[cur if cur is not None else 0]
            name = "snapshot" if get_field(b, 24, "I") == KIND_SNAPSHOT else "overlay"
        self.layout = name
        self.fields = SB_SNAPSHOT if name == "snapshot" else SB_OVERLAY

    def field(self, name):
        """(offset, format) of a superblock field; also @OFFSET:B|H|I|Q."""
        if name.startswith("@"):
            off, _, fmt = name[1:].partition(":")
            fmt = fmt or "B"
            if fmt not in ("B", "H", "I", "Q"):
                raise ToolError("raw field: @OFFSET[:B|H|I|Q]")
            off, size = int(off, 0), struct.calcsize("<" + fmt)
            if off < 0 or off + size > BLOCK or (off < 12 and off + size > 8):
                raise ToolError("raw field outside the block or over csum")
            return off, fmt
        if name not in self.fields:
            raise ToolError("unknown superblock field %s" % name)
        return self.fields[name]

    def sbval(self, field, copy=None):
        if copy is None:
            copy = self.current_sb()
            if copy is None:
                raise ToolError("no valid superblock copy")
        off, fmt = self.fields[field]
        return get_field(self.sb[copy], off, fmt)

    # ---- table / descriptor blocks
    def seed(self):
        return uuid_seed(bytes(self.sbval("uuid")))

    def slot_off(self, block, slot):
        if self.layout == "snapshot":
            shift = self.sbval("chunk_shift")
            area = 2 * BLOCK + (DESC_ENTRIES << shift)
            return self.sbval("data_start") * 512 + block * area + slot * BLOCK
        return (2 + 2 * block + slot) * BLOCK

    def data_off(self, c):
        shift = self.sbval("chunk_shift")
        if self.layout == "snapshot":
            area = 2 * BLOCK + (DESC_ENTRIES << shift)
            return (self.sbval("data_start") * 512 + (c // DESC_ENTRIES) * area +
                    2 * BLOCK + ((c % DESC_ENTRIES) << shift))
        return self.sbval("data_start") * 512 + (c << shift)

    def tb_check(self, buf, index, seed):
        if get_field(buf, 4, "I") != TB_MAGIC or get_field(buf, 16, "Q") != index \
                or get_field(buf, 24, "Q") != 0:
            return None
        z = bytearray(buf)
        put_field(z, 0, "I", 0)
        if crc32_le(seed, bytes(z)) != get_field(buf, 0, "I"):
            return None
        return get_field(buf, 8, "Q")

    def tb_seal(self, buf, seed):
        put_field(buf, 0, "I", 0)
        put_field(buf, 0, "I", crc32_le(seed, bytes(buf)))

    def table_slots(self, block):
        """[(buf, gen or None)] for slots 0 and 1, and the current slot."""
        seed = self.seed()
        slots = []
        for s in (0, 1):
            buf = self.read(self.slot_off(block, s))
            slots.append((buf, self.tb_check(buf, block, seed)))
        g0, g1 = slots[0][1], slots[1][1]
        if g0 is None and g1 is None:
            cur = None
        elif g1 is not None and (g0 is None or g1 > g0):
            cur = 1
        else:
            cur = 0
        return slots, cur

    def nr_blocks(self):
        if self.layout == "snapshot":
            return -(-self.sbval("data_chunks") // DESC_ENTRIES)
        return self.sbval("table_blocks")


def open_store(path, writable=False, layout=None):
    st = Store(path, writable)
    st.set_layout(layout)
    return st


def cmd_dump(a):
    st = open_store(a.store, layout=a.layout)
    cur = st.current_sb()
    print("store %s: %d bytes, layout %s" % (a.store, st.size, st.layout))
    for i in (0, 1):
        print("superblock %s: %s, generation %d%s" % (
            "AB"[i], "valid" if st.sb_valid[i] else "INVALID", st.sb_gen(i),
            " (current)" if i == cur else ""))
    if cur is None:
        print("no valid superblock")
        return 0
    for name, (off, fmt) in st.fields.items():
        v = get_field(st.sb[cur], off, fmt)
        if name.startswith("snap") and "." in name:
            continue
        if name.startswith("reserved") and not v:
            continue
        print("  %-18s %s" % (name, fmt_value(v)))
    if st.layout == "snapshot":
        for s in range(MAX_SNAPS):
            base = SNAP_OFF + SNAP_SIZE * s
            raw = st.sb[cur][base:base + SNAP_SIZE]
            if not any(raw):
                continue
            vals = ["%s=%s" % (f, fmt_value(get_field(st.sb[cur], base + o, t)))
                    for f, (o, t) in SNAP_FIELDS.items()]
            print("  snap%d: %s" % (s, " ".join(vals)))
    try:
        nb = st.nr_blocks()
    except Exception:                       # noqa: BLE001 - insane sb
        return 0
    if nb > 1 << 20 or st.slot_off(nb - 1, 1) + BLOCK > st.size:
        print("(block count %d does not fit the image: only those inside shown)" % nb)
        nb = min(nb, 1 << 10)
    what = "descriptor block" if st.layout == "snapshot" else "table block"
    for b in range(nb):
        if st.slot_off(b, 1) + BLOCK > st.size:
            break
        slots, c = st.table_slots(b)
        gens = ["slot %d %s" % (s, "gen %d" % slots[s][1] if slots[s][1] is not None
                                else "invalid") for s in (0, 1)]
        if c is None:
            print("%s %d: never written (%s)" % (what, b, ", ".join(gens)))
            continue
        print("%s %d: current slot %d (%s)" % (what, b, c, ", ".join(gens)))
        buf = slots[c][0]
        if st.layout == "snapshot":
            for j in range(DESC_ENTRIES):
                d = struct.unpack_from("<QIIII", buf, TB_HDR + 24 * j)
                if d[3] or d[0] or d[1] or d[2] or d[4]:
                    print("  desc loc %d: chunk=%d first=%d last=%d flags=%#x%s" % (
                        b * DESC_ENTRIES + j, d[0], d[1], d[2], d[3],
                        " reserved=%#x" % d[4] if d[4] else ""))
        else:
            for j in range(TB_ENTRIES):
                e = struct.unpack_from("<IHH", buf, TB_HDR + 8 * j)
                if any(e):
                    print("  entry %d (chunk %d): data=%d valid=%#06x zero=%#06x" % (
                        j, b * TB_ENTRIES + j, e[0], e[1], e[2]))
    return 0


def cmd_list(a, descs):
    st = open_store(a.store, layout=a.layout)
    for b in range(st.nr_blocks()):
        slots, c = st.table_slots(b)
        if c is None:
            continue
        buf = slots[c][0]
        if descs:
            for j in range(DESC_ENTRIES):
                d = struct.unpack_from("<QIIII", buf, TB_HDR + 24 * j)
                if d[3]:
                    print("%d %d %d %d %d" % (b * DESC_ENTRIES + j, d[0], d[1], d[2], d[3]))
        else:
            for j in range(TB_ENTRIES):
                e = struct.unpack_from("<IHH", buf, TB_HDR + 8 * j)
                if any(e):
                    print("%d %d %d %d %d" % (b, j, e[0], e[1], e[2]))
    return 0


def cmd_get(a):
    st = open_store(a.store, layout=a.layout)
    off, fmt = st.field(a.field)
    (i,) = st.pick_sb(a.copy)
    v = get_field(st.sb[i], off, fmt)
    print(v.hex() if isinstance(v, bytes) else v)
    return 0


def cmd_set(a):
    st = open_store(a.store, writable=True, layout=a.layout)
    off, fmt = st.field(a.field)
    value = parse_value(a.value, fmt)
    for i in st.pick_sb(a.copy):
        buf = st.sb[i]
        put_field(buf, off, fmt, value)
        if a.field != "csum":
            st.sb_seal(buf)
        st.write(i * BLOCK, buf)
        print("superblock %s: %s = %s" % ("AB"[i], a.field, fmt_value(value)))
    return 0


def new_block(block):
    buf = bytearray(BLOCK)
    put_field(buf, 4, "I", TB_MAGIC)
    put_field(buf, 8, "Q", 1)
    put_field(buf, 16, "Q", block)
    return (buf, 1)


def pick_slots(st, block, which, create):
    """Slots to edit; a slot without a valid copy becomes an empty block."""
    slots, cur = st.table_slots(block)
    if which == "current":
        sel = [0 if cur is None else cur]
    else:
        sel = [0, 1] if which == "both" else [int(which)]
    for s in sel:
        if slots[s][1] is None:
            if not create:
                raise ToolError("block %d slot %d is not valid" % (block, s))
            slots[s] = new_block(block)
    return slots, sel


def edit_block(st, block, which, off, fmt, text, dry):
    """Set a field of block @block in the chosen slots, reseal; or read it."""
    seed = st.seed()
    slots, sel = pick_slots(st, block, which, create=not dry)
    if dry:
        print(get_field(slots[sel[0]][0], off, fmt))
        return 0
    value = parse_value(text, fmt)
    for s in sel:
        buf = slots[s][0]
        put_field(buf, off, fmt, value)
        if off != 0:                        # not the csum itself
            st.tb_seal(buf, seed)
        st.write(st.slot_off(block, s), buf)
        print("block %d slot %d: offset %d = %s" % (block, s, off, fmt_value(value)))
    return 0


def entry_field(index, field, table):
    if index == "hdr":
        if field not in TB_HEADER:
            raise ToolError("header fields: %s" % ", ".join(TB_HEADER))
        return TB_HEADER[field]
    if field not in table:
        raise ToolError("fields: %s" % ", ".join(table))
    return table[field]


def cmd_entry(a, dry):
    st = open_store(a.store, writable=not dry, layout=a.layout or "overlay")
    block = int(a.block, 0)
    if a.index == "hdr":
        off, fmt = entry_field("hdr", a.field, ENTRY)
    else:
        i = int(a.index, 0)
        if not 0 <= i < TB_ENTRIES:
            raise ToolError("entry index 0..%d" % (TB_ENTRIES - 1))
        o, fmt = entry_field(i, a.field, ENTRY)
        off = TB_HDR + 8 * i + o
    return edit_block(st, block, a.slot, off, fmt, None if dry else a.value, dry)


def cmd_desc(a, dry):
    st = open_store(a.store, writable=not dry, layout=a.layout or "snapshot")
    if a.loc.startswith("hdr:"):
        block = int(a.loc[4:], 0)
        off, fmt = entry_field("hdr", a.field, DESC)
    else:
        loc = int(a.loc, 0)
        block, j = divmod(loc, DESC_ENTRIES)
        o, fmt = entry_field(j, a.field, DESC)
        off = TB_HDR + 24 * j + o
    return edit_block(st, block, a.slot, off, fmt, None if dry else a.value, dry)


def locate(path, w, layout=None):
    """Byte offset named by @w: a number, or WHAT[+N] (see locate)."""
    what, plus, delta = w.partition("+")
    delta = int(delta, 0) if plus else 0
    if what[:1].isdigit():
        return int(what, 0) + delta
    st = open_store(path, layout=layout)
    try:
        if what in ("sb-a", "sb-b"):
            off = 0 if what == "sb-a" else BLOCK
        elif what == "sb":
            cur = st.current_sb()
            if cur is None:
                raise ToolError("no valid superblock copy")
            off = cur * BLOCK
        elif what.startswith("tb:") or what.startswith("desc:"):
            block = int(what.split(":")[1], 0)
            _, cur = st.table_slots(block)
            if cur is None:
                raise ToolError("block %d has no valid slot" % block)
            off = st.slot_off(block, cur)
        elif what.startswith("slot:"):
            _, b, s = what.split(":")
            off = st.slot_off(int(b, 0), int(s, 0))
        elif what.startswith("data:"):
            off = st.data_off(int(what[5:], 0))
        else:
            raise ToolError("WHAT: sb, sb-a, sb-b, tb:B, desc:B, slot:B:S, data:C")
    finally:
        st.close()
    return off + delta


def cmd_locate(a):
    print(locate(a.store, a.what, a.layout))
    return 0


def cmd_flip(a):
    off = locate(a.store, a.offset, a.layout)
    mask = int(a.mask, 0)
    with open(a.store, "r+b") as f:
        f.seek(off)
        b = f.read(1)
        if len(b) != 1:
            raise ToolError("offset %d is beyond the end of %s" % (off, a.store))
        f.seek(off)
        f.write(bytes([b[0] ^ mask]))
    journal(a.store, off, 1)
    print("byte %d: %#04x -> %#04x" % (off, b[0], b[0] ^ mask))
    return 0


def cmd_blockcmp(a):
    bs = a.bs
    fds = [open(p, "rb") for p in [a.dev] + a.models]
    counts = [0] * len(a.models)
    bad = []
    blk = 0
    while True:
        d = fds[0].read(bs)
        if not d:
            break
        ms = [f.read(bs) for f in fds[1:]]
        for i, m in enumerate(ms):
            if m == d:
                counts[i] += 1
                break
        else:
            bad.append(blk)
        blk += 1
    for f in fds:
        f.close()
    print("blocks %d: %s; none: %d%s" % (
        blk, ", ".join("%s %d" % (os.path.basename(m), c) for m, c in zip(a.models, counts)),
        len(bad), " (first at byte %d)" % (bad[0] * bs) if bad else ""))
    return 1 if bad else 0


def parse_size(text):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text and text[-1].upper() in mult:
        return int(text[:-1], 0) * mult[text[-1].upper()]
    return int(text, 0)


def cmd_copy(a):
    """Copy a file keeping it sparse: only its data extents are copied."""
    with open(a.src, "rb") as src, open(a.dst, "wb") as dst:
        size = os.fstat(src.fileno()).st_size
        fd = src.fileno()
        pos = 0
        while pos < size:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
                end = os.lseek(fd, start, os.SEEK_HOLE)
            except OSError:                 # no more data (ENXIO)
                break
            os.lseek(fd, start, os.SEEK_SET)
            dst.seek(start)
            left = end - start
            while left > 0:
                data = os.read(fd, min(left, 1 << 20))
                if not data:
                    break
                dst.write(data)
                left -= len(data)
            pos = end
        dst.truncate(size)
    return 0


def cmd_truncate(a):
    with open(a.file, "r+b") as f:
        f.truncate(parse_size(a.size))
    journal(a.file, None, None)
    return 0


def cmd_zero(a):
    """Make the whole file read as zeroes (a hole), same size."""
    with open(a.file, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        f.truncate(0)
        f.truncate(size)
    journal(a.file, None, None)
    return 0


class Work:
    """A working copy of a pristine image, restored in place between cases."""
    PIECE = 1 << 16

    def __init__(self, work, pristine):
        self.path = os.path.realpath(work)
        with open(pristine, "rb") as f:
            self.data = f.read()
        zero = bytes(self.PIECE)
        self.pieces = [o for o in range(0, len(self.data), self.PIECE)
                       if self.data[o:o + self.PIECE] != zero[:len(self.data[o:o + self.PIECE])]]
        # the blocks the kernel itself may write: superblocks, table slots
        st = open_store(pristine)
        self.meta = [(0, 2 * BLOCK)]
        for b in range(st.nr_blocks()):
            self.meta.append((st.slot_off(b, 0), BLOCK))
            self.meta.append((st.slot_off(b, 1), BLOCK))
        st.close()
        JOURNAL[self.path] = [(None, None)]
        self.restore()

    def restore(self):
        """Make the file equal to the pristine image again."""
        changes = JOURNAL[self.path]
        full = any(off is None for off, _ in changes)
        with open(self.path, "r+b" if os.path.exists(self.path) else "w+b") as f:
            if full:
                f.truncate(0)
                f.truncate(len(self.data))
                ranges = [(o, self.PIECE) for o in self.pieces]
            else:
                ranges = self.meta + changes
            for off, length in ranges:
                f.seek(off)
                f.write(self.data[off:off + length])
        JOURNAL[self.path] = []

    def check(self):
        """Byte offsets (first few) where the file differs from the pristine."""
        with open(self.path, "rb") as f:
            cur = f.read()
        if len(cur) != len(self.data):
            return ["size %d, expected %d" % (len(cur), len(self.data))]
        bad = []
        for o in range(0, len(cur), self.PIECE):
            if cur[o:o + self.PIECE] != self.data[o:o + self.PIECE]:
                bad.append(str(o))
        return bad


WORKS = {}


def serve_one(words):
    """Commands only serve knows: work, restore, check, excl."""
    if words[0] == "work" and len(words) == 3:
        w = Work(words[1], words[2])
        WORKS[w.path] = w
        print("work %s: %d data pieces of 64 KiB, %d metadata ranges" % (
            words[1], len(w.pieces), len(w.meta)))
        return 0
    if words[0] in ("restore", "check", "dirty") and len(words) == 2:
        w = WORKS.get(os.path.realpath(words[1]))
        if not w:
            raise ToolError("%s is not a work file" % words[1])
        if words[0] == "dirty":
            JOURNAL[w.path].append((None, None))
            return 0
        if words[0] == "restore":
            w.restore()
            return 0
        bad = w.check()
        if bad:
            print("%s differs from its pristine image at: %s" % (words[1], " ".join(bad[:8])))
            return 1
        return 0
    if words[0] == "excl" and len(words) == 2:
        try:
            os.close(os.open(words[1], os.O_RDONLY | os.O_EXCL))
        except OSError as e:
            print(errno_name(e.errno))
            return 1
        print("ok")
        return 0
    return None


def errno_name(n):
    import errno
    return errno.errorcode.get(n, str(n))


def cmd_serve(a):
    """Run command lines from stdin; after each, print "@@ STATUS"."""
    import shlex
    sys.stderr = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        rc = 0
        if line and not line.startswith("#"):
            try:
                words = shlex.split(line)
                rc = serve_one(words)
                if rc is None:
                    rc = main(words)
            except SystemExit as e:
                rc = e.code if isinstance(e.code, int) else 2
            except (ToolError, OSError, ValueError) as e:
                print("storetool: %s" % e)
                rc = 2
        print("@@ %d" % rc, flush=True)
    return 0


def cmd_batch(a):
    """Run storetool command lines from a file; '#' lines name a group."""
    import shlex
    bad = 0
    group = ""
    with open(a.file) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            if line.startswith("#"):
                group = line[1:].strip()
                continue
            try:
                rc = main(shlex.split(line))
            except SystemExit as e:         # argparse usage errors
                rc = e.code if isinstance(e.code, int) else 2
            if rc:
                print("storetool: batch line %d (%s) failed: %s" % (n, group, line),
                      file=sys.stderr)
                bad = 1
    return bad


PARSER = None


def parser():
    """The command line parser, built once (slow under emulation)."""
    global PARSER
    if PARSER:
        return PARSER
    p = argparse.ArgumentParser(prog="storetool.py", description=__doc__.split("\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--layout", choices=["overlay", "snapshot"],
                        help="interpret the superblock as this kind (default: its kind field)")
    sub = p.add_subparsers(dest="cmd", required=True)
    add = sub.add_parser

    def sub_add_parser(name):
        return add(name, parents=[common])
    sub.add_parser = sub_add_parser

    s = sub.add_parser("dump")
    s.add_argument("store")
    for name in ("entries", "descs"):
        sub.add_parser(name).add_argument("store")
    s = sub.add_parser("get")
    s.add_argument("store")
    s.add_argument("field")
    s.add_argument("--copy", choices=["a", "b", "current"], default="current")
    s = sub.add_parser("set")
    s.add_argument("store")
    s.add_argument("field")
    s.add_argument("value")
    s.add_argument("--copy", choices=["a", "b", "both", "current"], default="current")
    for name, what in (("entry", ("block", "index")), ("desc", ("loc",))):
        for verb in ("get", "set"):
            s = sub.add_parser("%s-%s" % (verb, name))
            s.add_argument("store")
            for w in what:
                s.add_argument(w)
            s.add_argument("field")
            if verb == "set":
                s.add_argument("value")
            s.add_argument("--slot", choices=["0", "1", "both", "current"], default="current")
    s = sub.add_parser("locate")
    s.add_argument("store")
    s.add_argument("what")
    s = sub.add_parser("flip")
    s.add_argument("store")
    s.add_argument("offset")
    s.add_argument("mask", nargs="?", default="0xff")
    s = sub.add_parser("copy")
    s.add_argument("src")
    s.add_argument("dst")
    s = sub.add_parser("truncate")
    s.add_argument("file")
    s.add_argument("size")
    s = sub.add_parser("zero")
    s.add_argument("file")
    sub.add_parser("serve")
    s = sub.add_parser("batch")
    s.add_argument("file")
    s = sub.add_parser("blockcmp")
    s.add_argument("dev")
    s.add_argument("models", nargs="+")
    s.add_argument("--bs", type=int, default=4096)
    PARSER = p
    return p


def main(argv):
    a = parser().parse_args(argv)
    try:
        if a.cmd == "dump":
            return cmd_dump(a)
        if a.cmd in ("entries", "descs"):
            return cmd_list(a, a.cmd == "descs")
        if a.cmd == "get":
            return cmd_get(a)
        if a.cmd == "set":
            return cmd_set(a)
        if a.cmd.endswith("-entry"):
            return cmd_entry(a, a.cmd == "get-entry")
        if a.cmd.endswith("-desc"):
            return cmd_desc(a, a.cmd == "get-desc")
        if a.cmd == "locate":
            return cmd_locate(a)
        if a.cmd == "flip":
            return cmd_flip(a)
        if a.cmd == "blockcmp":
            return cmd_blockcmp(a)
        if a.cmd == "batch":
            return cmd_batch(a)
        if a.cmd == "serve":
            return cmd_serve(a)
        if a.cmd == "copy":
            return cmd_copy(a)
        if a.cmd == "truncate":
            return cmd_truncate(a)
        if a.cmd == "zero":
            return cmd_zero(a)
    except BrokenPipeError:                 # e.g. dump | head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ToolError, OSError, KeyError, ValueError, struct.error) as e:
        print("storetool: %s" % e, file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
