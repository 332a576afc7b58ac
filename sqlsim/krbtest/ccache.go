package krbtest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

// Expire rewrites the end time of every ticket in the credential cache file (format
// version 4, as MIT kinit writes it) to an hour ago: the cache then looks as it does
// after its tickets expired, without the test waiting for that.
func Expire(t testing.TB, ccache string) {
	t.Helper()
	b, err := os.ReadFile(ccache)
	if err != nil {
		t.Fatal(err)
	}
	if err := expireCCache(b, uint32(time.Now().Add(-time.Hour).Unix())); err != nil {
		t.Fatalf("%s: %v", ccache, err)
	}
	if err := os.WriteFile(ccache, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func expireCCache(b []byte, end uint32) error {
	be := binary.BigEndian
	p := 0
	need := func(n int) error {
		if p+n > len(b) {
			return errors.New("credential cache is truncated")
		}
		return nil
	}
	u16 := func() (int, error) {
		if err := need(2); err != nil {
			return 0, err
		}
		p += 2
		return int(be.Uint16(b[p-2:])), nil
	}
	u32 := func() (int, error) {
		if err := need(4); err != nil {
			return 0, err
		}
		p += 4
		return int(be.Uint32(b[p-4:])), nil
	}
	data := func() error { // counted octet string
		n, err := u32()
		if err != nil {
			return err
		}
		if err := need(n); err != nil {
			return err
		}
		p += n
		return nil
	}
	principal := func() error {
		if _, err := u32(); err != nil { // name type
			return err
		}
		n, err := u32()
		if err != nil {
			return err
		}
		for range n + 1 { // realm, then the components
			if err := data(); err != nil {
				return err
			}
		}
		return nil
	}
	if v, err := u16(); err != nil || v != 0x0504 {
		return fmt.Errorf("not a version 4 credential cache")
	}
	hl, err := u16()
	if err != nil {
		return err
	}
	p += hl
	if err := principal(); err != nil { // default principal
		return err
	}
	for p < len(b) {
		if err := principal(); err != nil { // client
			return err
		}
		if err := principal(); err != nil { // server
			return err
		}
		if _, err := u16(); err != nil { // key type
			return err
		}
		if err := data(); err != nil { // key
			return err
		}
		if err := need(16); err != nil {
			return err
		}
		if be.Uint32(b[p+8:]) != 0 { // authtime, starttime, endtime, renew_till
			be.PutUint32(b[p+8:], end)
			be.PutUint32(b[p+12:], 0)
		}
		p += 16 + 1 + 4 // times, is_skey, ticket flags
		for range 2 {   // addresses, authdata: count, then (type u16, data)
			n, err := u32()
			if err != nil {
				return err
			}
			for range n {
				if _, err := u16(); err != nil {
					return err
				}
				if err := data(); err != nil {
					return err
				}
			}
		}
		if err := data(); err != nil { // ticket
			return err
		}
		if err := data(); err != nil { // second ticket
			return err
		}
	}
	return nil
}
