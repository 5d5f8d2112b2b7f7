# Retargets the GLIBCXX_3.4.32 version requirement of a shared library to GLIBCXX_3.4.30 (see bench/peers.sh).
import struct, sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
shoff, = struct.unpack_from("<Q", data, 0x28); shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
secs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
def elf_hash(s):
    h = 0
    for c in s.encode():
        h = (h << 4) + c; g = h & 0xF0000000
        if g: h ^= g >> 24
        h &= ~g
    return h & 0xFFFFFFFF
for s in secs:
    if s[1] == 0x6ffffffe:
        strtab = secs[s[6]]; stroff = strtab[4]
        name = lambda o: data[stroff + o: data.index(0, stroff + o)].decode()
        off = s[4]; auxes = []
        while True:
            vn_version, vn_cnt, vn_file, vn_aux, vn_next = struct.unpack_from("<HHIII", data, off)
            a = off + vn_aux
            for _ in range(vn_cnt):
                h, fl, other, nm, nxt = struct.unpack_from("<IHHII", data, a)
                auxes.append((a, name(nm), nm, h)); a += nxt
            if vn_next == 0: break
            off += vn_next
        donor = [x for x in auxes if x[1] == "GLIBCXX_3.4.30" or x[1] == "GLIBCXX_3.4.29" or x[1] == "GLIBCXX_3.4.21"][0]
        for a, n, nm, h in auxes:
            if n == "GLIBCXX_3.4.32":
                struct.pack_into("<I", data, a, donor[3]); struct.pack_into("<I", data, a + 8, donor[2])
                print("patched", n, "->", donor[1])
open(path, "wb").write(data)
