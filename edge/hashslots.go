package edge

import (
	"hash/maphash"
	"sync/atomic"
)

// hashSlots is a fixed-size table of 64-bit key hashes that goroutines read
// and write without a lock: each slot is one atomic word. It remembers keys
// approximately: a key's hash stays in its slot until a key whose hash lands
// in the same slot overwrites it. The low bits of a stored word (lowBits of
// them) belong to the user of the table (a bot verdict, say); the others
// are the hash.
type hashSlots struct {
	seed    maphash.Seed
	slots   []atomic.Uint64
	mask    uint64
	lowBits uint
}

// newHashSlots makes a table of size slots (rounded up to a power of two)
// whose words keep lowBits bits for their user.
func newHashSlots(size int, lowBits uint) hashSlots {
	n := 1
	for n < size {
		n <<= 1
	}
	return hashSlots{seed: maphash.MakeSeed(), slots: make([]atomic.Uint64, n), mask: uint64(n - 1), lowBits: lowBits}
}

// bytesSlot returns b's hash, its low bits clear, and the slot it belongs in.
func (t *hashSlots) bytesSlot(b []byte) (uint64, *atomic.Uint64) {
	return t.slotOf(maphash.Bytes(t.seed, b))
}

// stringSlot is bytesSlot for a string.
func (t *hashSlots) stringSlot(s string) (uint64, *atomic.Uint64) {
	return t.slotOf(maphash.String(t.seed, s))
}

func (t *hashSlots) slotOf(h uint64) (uint64, *atomic.Uint64) {
	h &^= 1<<t.lowBits - 1
	return h, &t.slots[(h>>t.lowBits)&t.mask]
}
