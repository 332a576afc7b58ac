package sqlsim

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"testing"
)

// TestVerifyNTLMv2Vector checks VerifyNTLMv2 with the NTLMv2 example of [MS-NLMP]
// 4.2.4 (User "User", UserDom "Domain", Password "Password", server challenge
// 0123456789abcdef, client challenge aa…aa, time 0, AV pairs Domain/Server):
// NTProofStr = 68cd0ab851e51c96aabc927bebef6a1c.
func TestVerifyNTLMv2Vector(t *testing.T) {
	var sc [8]byte
	copy(sc[:], mustHex(t, "0123456789abcdef"))
	le := binary.LittleEndian
	var av []byte
	for _, p := range []struct {
		id uint16
		v  string
	}{{2, "Domain"}, {1, "Server"}, {0, ""}} {
		av = le.AppendUint16(av, p.id)
		av = le.AppendUint16(av, uint16(len(ucs2(p.v))))
		av = append(av, ucs2(p.v)...)
	}
	temp := append([]byte{1, 1, 0, 0, 0, 0, 0, 0}, make([]byte, 8)...) // RespType, HiRespType, reserved, time 0
	temp = append(temp, bytes.Repeat([]byte{0xaa}, 8)...)
	temp = append(temp, 0, 0, 0, 0)
	temp = append(temp, av...)
	temp = append(temp, 0, 0, 0, 0)
	resp := append(mustHex(t, "68cd0ab851e51c96aabc927bebef6a1c"), temp...)
	if !VerifyNTLMv2(resp, sc, "User", "Domain", "Password") {
		t.Fatal("the [MS-NLMP] 4.2.4 response does not verify")
	}
	if VerifyNTLMv2(resp, sc, "User", "Domain", "Passw0rd") {
		t.Error("verified with a wrong password")
	}
	other := sc
	other[0] ^= 1
	if VerifyNTLMv2(resp, other, "User", "Domain", "Password") {
		t.Error("verified against another server challenge")
	}
	if VerifyNTLMv2(resp[:30], sc, "User", "Domain", "Password") {
		t.Error("verified a truncated response")
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzNTLMAuthenticate: any client answer is parsed without a panic, and a parsed
// answer has its fields inside the message.
func FuzzNTLMAuthenticate(f *testing.F) {
	f.Add([]byte("NTLMSSP\x00\x03\x00\x00\x00"))
	f.Add(append([]byte("NTLMSSP\x00\x03\x00\x00\x00"), make([]byte, 80)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, nt, err := parseNTLMAuthenticate(b)
		if err == nil && len(nt) > len(b) {
			t.Fatalf("NT response of %d bytes from a %d-byte message", len(nt), len(b))
		}
		var sc [8]byte
		VerifyNTLMv2(nt, sc, "u", "d", "p")
	})
}
