package edge

import (
	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/useragent"
)

// botVerdicts remembers what recently seen User-Agent values tell: whether
// rebound.IsBot takes the agent for a bot's, and its device, OS and browser
// (useragent.Parse). Every redirect asks whether a bot sent it, and every
// redirect of a link with device or browser rules asks for the agent; real
// traffic carries few distinct agents, as a browser sends the same one on
// every request. IsBot scans the agent for every marker (about 2.5% of the
// edge's CPU on hot links) and Parse for every browser's tokens (a third
// of a redirect's cost with three rules); a remembered answer costs one
// hash of the agent and one atomic load.
//
// Each slot packs an agent's 64-bit hash with what it tells in the low
// verdictBits bits, so it is read and written whole without a lock. Two
// agents share a slot when their hashes agree on the slot bits; the later
// overwrites the earlier, which is then read again. Two different agents
// with hashes equal but for the low bits would share an answer: a chance of
// 2^-55 per pair, and the answer only labels a click or picks a target.
type botVerdicts struct{ hashSlots }

// botVerdictSlots is how many agents an edge remembers verdicts for: 16 KiB
// of slots, ample for the few agents that make most of real traffic.
const botVerdictSlots = 2048

// A slot's low bits: bit 0 the bot verdict, bits 1-8 the agent.
const (
	verdictBits = 9
	botBit      = 1
	deviceShift = 1 // 2 bits
	osShift     = 3 // 3 bits
	browShift   = 6 // 3 bits
)

// newBotVerdicts remembers up to size agents (rounded up to a power of two).
func newBotVerdicts(size int) *botVerdicts { return &botVerdicts{newHashSlots(size, verdictBits)} }

// verdict returns the low bits of ua's slot, reading the agent when the slot
// holds another's.
func (v *botVerdicts) verdict(ua []byte) uint64 {
	h, slot := v.bytesSlot(ua)
	if s := slot.Load(); s&^(1<<verdictBits-1) == h && s != 0 {
		return s & (1<<verdictBits - 1)
	}
	a := useragent.Parse(ua)
	bits := uint64(a.Device)<<deviceShift | uint64(a.OS)<<osShift | uint64(a.Browser)<<browShift
	if rebound.IsBot(ua) {
		bits |= botBit
	}
	slot.Store(h | bits)
	return bits
}

// isBot is rebound.IsBot(ua), remembered.
func (v *botVerdicts) isBot(ua []byte) bool { return v.verdict(ua)&botBit != 0 }

// Agent is useragent.Parse(ua), remembered (targeting.Agents).
func (v *botVerdicts) Agent(ua []byte) useragent.Agent { return agentOf(v.verdict(ua)) }

// agentOf unpacks the agent of a verdict's bits.
func agentOf(bits uint64) useragent.Agent {
	return useragent.Agent{
		Device:  useragent.Device(bits >> deviceShift & 3),
		OS:      useragent.OS(bits >> osShift & 7),
		Browser: useragent.Browser(bits >> browShift & 7),
	}
}
