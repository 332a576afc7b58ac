package tds

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

func FuzzLogin7(f *testing.F) {
	f.Add(buildLogin7(testUser, testPassword, "master", 4096, nil))
	f.Add(buildLogin7("", "", "", 0, fedAuthFeatureExt(testToken)))
	adal := []byte{featFedAuth, 2, 0, 0, 0, fedAuthLibADAL << 1, 1, featTerminator}
	f.Add(buildLogin7("u", "p", "db", 512, adal))
	f.Add(make([]byte, login7FixedLen))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := parseLogin7(b)
		if err == nil && l == nil {
			t.Fatal("nil login without error")
		}
		_, _ = parseFedAuthToken(b)
	})
}

func TestLogin7PasswordRoundTrip(t *testing.T) {
	for _, pw := range []string{"", "S3cret!pw", "пароль", "😀x"} {
		l, err := parseLogin7(buildLogin7("u", pw, "", 4096, nil))
		if err != nil {
			t.Fatal(err)
		}
		if l.password != pw || l.userName != "u" {
			t.Errorf("got %q/%q, want %q", l.userName, l.password, pw)
		}
	}
}

func FuzzRPC(f *testing.F) {
	one := append(allHeaders(), rpcCall("dbo.p", "value")...)
	f.Add(one)
	f.Add(append(append(one, rpcBatchFlag), rpcCall("q", "")...))
	// sp_executesql by id with a PLP parameter and several typed values.
	b := append(allHeaders(), 0xFF, 0xFF, 10, 0, 0, 0)
	for _, v := range []struct {
		wt  wireType
		val any
	}{
		{wireType{id: typeNVarChar, plp: true}, "select 1"},
		{wireType{id: typeIntN, size: 8}, int64(-5)},
		{wireType{id: typeBitN, size: 1}, true},
		{wireType{id: typeGUID, size: 16}, testGUID},
		{wireType{id: typeDecimalN, size: 17, prec: 38, scale: 2}, "12.34"},
		{wireType{id: typeDateTimeOffsetN, scale: 7}, time.Unix(0, 0)},
		{wireType{id: typeBigVarBin, size: 10}, nil},
	} {
		b = appendBVarChar(b, "@x")
		b = append(b, paramByRef)
		b = appendTypeInfo(b, v.wt)
		b, _ = appendValue(b, v.wt, v.val)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ver := range []uint32{0x71000001, 0x74000004} {
			reqs, err := parseRPC(data, ver)
			if err == nil && len(reqs) == 0 {
				t.Fatal("no RPC and no error")
			}
		}
	})
}

func FuzzPrelogin(f *testing.F) {
	f.Add(buildPrelogin(map[byte][]byte{preVersion: {1, 2, 3, 4, 0, 0}, preEncryption: {encryptOn}, preFedAuthRequired: {1}}))
	f.Add([]byte{preTerminator})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parsePrelogin(b)
	})
}

// TestValueRoundTrip encodes values the way the server sends them and
// decodes them the way it reads parameters.
func TestValueRoundTrip(t *testing.T) {
	ts := time.Date(2001, 9, 9, 1, 46, 40, 123456700, time.UTC)
	cases := []struct {
		wt   wireType
		in   any
		want any
	}{
		{wireType{id: typeNVarChar, size: 8000}, "héllo", "héllo"},
		{wireType{id: typeNVarChar, plp: true}, "", ""},
		{wireType{id: typeNVarChar, size: 8000}, nil, nil},
		{wireType{id: typeBigVarBin, plp: true}, []byte{1, 2}, []byte{1, 2}},
		{wireType{id: typeBigVarBin, size: 4}, []byte{1, 2, 3, 4, 5}, []byte{1, 2, 3, 4}},
		{wireType{id: typeIntN, size: 1}, 255, int64(255)},
		{wireType{id: typeIntN, size: 2}, -2, int64(-2)},
		{wireType{id: typeIntN, size: 4}, "17", int64(17)},
		{wireType{id: typeIntN, size: 8}, uint32(7), int64(7)},
		{wireType{id: typeBitN, size: 1}, "true", true},
		{wireType{id: typeFltN, size: 8}, 2.5, 2.5},
		{wireType{id: typeFltN, size: 4}, 0.5, 0.5},
		{wireType{id: typeDecimalN, size: 5, prec: 9, scale: 2}, "-0.005", "-0.01"},
		{wireType{id: typeDecimalN, size: 17, prec: 38, scale: 0}, "99999999999999999999999999999999999999", "99999999999999999999999999999999999999"},
		{wireType{id: typeDecimalN, size: 9, prec: 18, scale: 4}, 12, "12.0000"},
		{wireType{id: typeDateTimeN, size: 8}, ts, time.Date(2001, 9, 9, 1, 46, 40, 123333333, time.UTC)},
		{wireType{id: typeDateTime2N, scale: 7}, ts, ts},
		{wireType{id: typeDateN}, ts, time.Date(2001, 9, 9, 0, 0, 0, 0, time.UTC)},
		{wireType{id: typeDateTimeOffsetN, scale: 7}, ts.In(time.FixedZone("", -90*60)), ts},
		{wireType{id: typeGUID, size: 16}, formatGUID(testGUID), testGUID},
	}
	for i, c := range cases {
		b := appendTypeInfo(nil, c.wt)
		b, err := appendValue(b, c.wt, c.in)
		if err != nil {
			t.Fatalf("case %d: encode: %v", i, err)
		}
		r := &reader{b: b}
		ti, err := readTypeInfo(r)
		if err != nil {
			t.Fatalf("case %d: type info: %v", i, err)
		}
		got, err := readValue(r, ti)
		if err != nil {
			t.Fatalf("case %d: decode: %v", i, err)
		}
		if r.remaining() != 0 {
			t.Errorf("case %d: %d bytes left", i, r.remaining())
		}
		if !equalValue(got, c.want) {
			if tg, ok := got.(time.Time); ok && tg.Equal(c.want.(time.Time)) {
				continue // same instant in another zone (datetimeoffset)
			}
			t.Errorf("case %d (%s): got %#v, want %#v", i, ti.name(), got, c.want)
		}
	}
}

func TestValueErrors(t *testing.T) {
	cases := []struct {
		wt wireType
		in any
	}{
		{wireType{id: typeIntN, size: 1, name: "tinyint"}, 256},
		{wireType{id: typeIntN, size: 2, name: "smallint"}, 40000},
		{wireType{id: typeIntN, size: 4, name: "int"}, "x"},
		{wireType{id: typeBitN, size: 1}, "maybe"},
		{wireType{id: typeDecimalN, size: 5, prec: 3, scale: 0}, "1000"},
		{wireType{id: typeDecimalN, size: 5, prec: 9, scale: 0}, "1e5"},
		{wireType{id: typeDateTimeN, size: 8}, time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC)},
		{wireType{id: typeGUID, size: 16}, "not-a-guid"},
		{wireType{id: typeFltN, size: 8}, struct{}{}},
	}
	for i, c := range cases {
		if _, err := appendValue(nil, c.wt, c.in); err == nil {
			t.Errorf("case %d: %v encoded without error", i, c.in)
		}
	}
}

func TestPacketWriterFraming(t *testing.T) {
	var buf bytes.Buffer
	pw := packetWriter{w: &buf, packetSize: 512, spid: 77}
	payload := bytes.Repeat([]byte{7}, 2000)
	if err := pw.writeMessage(pktReply, payload); err != nil {
		t.Fatal(err)
	}
	pr := packetReader{r: &buf, maxSize: 1 << 20}
	var seq []byte
	raw := buf.Bytes()
	for off := 0; off < len(raw); {
		size := int(binary.BigEndian.Uint16(raw[off+2:]))
		if size > 512 {
			t.Fatalf("packet of %d bytes", size)
		}
		if last := off+size == len(raw); (raw[off+1] == statusEOM) != last {
			t.Fatalf("status %#x at offset %d", raw[off+1], off)
		}
		if binary.BigEndian.Uint16(raw[off+4:]) != 77 {
			t.Fatal("spid not set")
		}
		seq = append(seq, raw[off+6])
		off += size
	}
	if !bytes.Equal(seq, []byte{1, 2, 3, 4}) {
		t.Fatalf("packet ids %v", seq)
	}
	m, err := pr.readMessage()
	if err != nil || !bytes.Equal(m.data, payload) {
		t.Fatalf("read back %d bytes: %v", len(m.data), err)
	}
	small := packetReader{r: bytes.NewReader(raw), maxSize: 1000}
	if _, err := small.readMessage(); err != errRequestTooLarge {
		t.Fatalf("got %v, want errRequestTooLarge", err)
	}
}
