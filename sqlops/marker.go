package sqlops

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// Object kinds milink creates; they are bound into every mark (Key.Mark).
const (
	KindJob         = "job"
	KindEndpoint    = "endpoint"
	KindCertificate = "certificate"
)

// Name prefixes of the objects milink creates (Microsoft's names, optionally followed
// by "_milink_<run>" when a user's object has the plain name).
var ownNamePrefixes = map[string][]string{
	KindJob:         {"TestMILinkConnection", "NetHelper"},
	KindEndpoint:    {"TEST_ENDPOINT"},
	KindCertificate: {"TEST_CERT"},
}

// NamedLikeOurs reports whether name is a name milink gives objects of kind (KindJob:
// TestMILinkConnection*, NetHelper*; KindEndpoint: TEST_ENDPOINT*; KindCertificate:
// TEST_CERT*), compared case-insensitively as SQL Server compares names. It is one of
// the tests of ownership (Key.Owns), never enough on its own.
func NamedLikeOurs(kind, name string) bool {
	for _, p := range ownNamePrefixes[kind] {
		if len(name) >= len(p) && strings.EqualFold(name[:len(p)], p) {
			return true
		}
	}
	return false
}

// markPattern finds anything that looks like a milink mark: the current form
// "[milink:<run>:<mac>]" and the unauthenticated form of earlier versions (and of
// forgeries) "[milink:<run>]".
var markPattern = regexp.MustCompile(`\[milink:([0-9a-f]{8,32})(?::([0-9a-f]{32}))?\]`)

// MarkerLikePattern is a T-SQL LIKE pattern matching any text that carries something
// that looks like a milink mark; candidates are then verified in Go (Key.Owns).
const MarkerLikePattern = `%[[]milink:%]%`

// NewRunID returns a fresh random run identifier (16 hex digits).
func NewRunID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b[:])
}

// ValidateRunID checks that id has the form NewRunID produces.
func ValidateRunID(id string) error {
	if !regexp.MustCompile(`^[0-9a-f]{8,32}$`).MatchString(id) {
		return fmt.Errorf("%w: run id %q must be 8-32 lowercase hex digits", ErrInvalidInput, id)
	}
	return nil
}

// Marker returns the unauthenticated mark of run id, e.g. "[milink:3f2a9c1b00aa11ff]",
// the form earlier versions wrote. Such a mark proves nothing (anyone can type it):
// milink never treats an object carrying only this form as its own.
func Marker(runID string) string { return "[milink:" + runID + "]" }

// MarkedRunID returns the run id of the first thing in text that looks like a milink
// mark, authenticated or not, and whether there was one. It says nothing about who
// wrote the mark: use Key.Owns for that.
func MarkedRunID(text string) (string, bool) {
	m := markPattern.FindStringSubmatch(text)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// JobDescription is the description milink gives a job it creates: purpose, a note on
// its removal, and mark (Key.Mark(KindJob, name, run)). A bare run id instead of a mark
// gives the unauthenticated Marker form (tests of the simulator use it), which milink
// never treats as its own.
func JobDescription(purpose, mark string) string {
	if !strings.HasPrefix(mark, "[milink:") {
		mark = Marker(mark)
	}
	return fmt.Sprintf("%s Created by milink; removed automatically after the test, or by 'milink cleanup'. %s", purpose, mark)
}

// CertificateSubject is the subject milink gives a temporary certificate carrying mark
// (Key.Mark(KindCertificate, name, run)); at most 98 characters, within CREATE
// CERTIFICATE's 128.
func CertificateSubject(mark string) string {
	return "milink network test certificate " + mark
}

// ErrKey is wrapped by every error loading or creating milink's key (LoadKey): without
// the key nothing is created and nothing is recognised as milink's.
var ErrKey = errors.New("milink key")

// KeySize is the length of a Key in bytes.
const KeySize = 32

// Key is this machine's secret for marking milink's objects: a mark is
// "[milink:<run id>:<mac>]", mac being the first 16 bytes (32 hex digits) of
// HMAC-SHA256 under the key of "<kind>\x00<name>\x00<run id>". Only a holder of the
// key can produce a mark that verifies for a given kind, name and run, so neither an
// accident nor a copied description makes another object milink's.
type Key struct{ k []byte }

// NewKey wraps b (KeySize random bytes) as a Key; tests use it for "another machine".
func NewKey(b []byte) (*Key, error) {
	if len(b) != KeySize {
		return nil, fmt.Errorf("%w: a milink key has %d bytes, not %d", ErrInvalidInput, KeySize, len(b))
	}
	return &Key{k: append([]byte(nil), b...)}, nil
}

// RandomKey returns a fresh random Key (for tests and first use).
func RandomKey() *Key {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return &Key{k: b}
}

func (k *Key) mac(kind, name, runID string) string {
	h := hmac.New(sha256.New, k.k)
	io.WriteString(h, kind+"\x00"+strings.ToLower(name)+"\x00"+runID)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Mark returns the authenticated mark of the object of kind called name created by run
// id, e.g. "[milink:3f2a9c1b00aa11ff:<32 hex digits>]". Names are bound
// case-insensitively, as SQL Server compares them.
func (k *Key) Mark(kind, name, runID string) string {
	return "[milink:" + runID + ":" + k.mac(kind, name, runID) + "]"
}

// Owns returns the run id of the mark in text and whether the object of kind called
// name is milink's by every test: named as milink names that kind (NamedLikeOurs) and
// text carries a mark for exactly this kind, name and run under this key.
func (k *Key) Owns(kind, name, text string) (string, bool) {
	if k == nil || !NamedLikeOurs(kind, name) {
		return "", false
	}
	for _, m := range markPattern.FindAllStringSubmatch(text, -1) {
		if m[2] != "" && hmac.Equal([]byte(m[2]), []byte(k.mac(kind, name, m[1]))) {
			return m[1], true
		}
	}
	return "", false
}

// marksOther reports whether mac is this key's mark of run for an object milink would
// have created under another kind or name (a genuine mark copied elsewhere).
func (k *Key) marksOther(kind, name, run, mac string) bool {
	for kd, prefixes := range ownNamePrefixes {
		for _, p := range prefixes {
			for _, n := range []string{p, p + "_milink_" + run[:min(8, len(run))]} {
				if (kd != kind || !strings.EqualFold(n, name)) && hmac.Equal([]byte(mac), []byte(k.mac(kd, n, run))) {
					return true
				}
			}
		}
	}
	return false
}

// StateDir returns milink's state directory: $XDG_STATE_HOME/milink, else
// ~/.local/state/milink (the XDG Base Directory default).
func StateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "milink"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("milink state directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "milink"), nil
}

var keyCache struct {
	mu   sync.Mutex
	keys map[string]*Key
}

// LoadKey returns the key kept in dir/key, creating dir (mode 0700) and the key
// (KeySize random bytes, mode 0600) on first use, and caches it per dir. A key file
// readable by others, or of the wrong size, is an error (wrapping ErrKey): it is not
// trusted and not replaced.
func LoadKey(dir string) (*Key, error) {
	keyCache.mu.Lock()
	defer keyCache.mu.Unlock()
	if k := keyCache.keys[dir]; k != nil {
		return k, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	path := filepath.Join(dir, "key")
	k, err := readKey(path)
	if errors.Is(err, os.ErrNotExist) {
		nk := RandomKey()
		f, cerr := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if cerr == nil {
			_, cerr = f.Write(nk.k)
			if e := f.Close(); cerr == nil {
				cerr = e
			}
			if cerr != nil {
				os.Remove(path)
			}
		}
		if cerr != nil && !errors.Is(cerr, os.ErrExist) {
			return nil, fmt.Errorf("%w: %w", ErrKey, cerr)
		}
		k, err = readKey(path) // another process may have won the race: use its key
	}
	if err != nil && !errors.Is(err, ErrKey) {
		err = fmt.Errorf("%w: %w", ErrKey, err)
	}
	if err != nil {
		return nil, err
	}
	if keyCache.keys == nil {
		keyCache.keys = map[string]*Key{}
	}
	keyCache.keys[dir] = k
	return k, nil
}

func readKey(path string) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w %s: mode %v lets others read it; run chmod 600 on it", ErrKey, path, st.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, KeySize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	if len(b) != KeySize {
		return nil, fmt.Errorf("%w %s: %d bytes, want %d (not replaced: remove it knowingly)", ErrKey, path, len(b), KeySize)
	}
	return &Key{k: b}, nil
}

// DefaultKey is LoadKey(StateDir()).
func DefaultKey() (*Key, error) {
	d, err := StateDir()
	if err != nil {
		return nil, err
	}
	return LoadKey(d)
}

// OwnedEndpoint returns the run id and whether the endpoint called name, authenticating
// with the certificate certName of subject certSubject, is milink's: named
// TEST_ENDPOINT* and its certificate is milink's (Key.Owns under c's key). An
// unreadable key makes nothing milink's.
func (c *Conn) OwnedEndpoint(name, certName, certSubject string) (string, bool) {
	k, err := c.key()
	if err != nil || !NamedLikeOurs(KindEndpoint, name) {
		return "", false
	}
	return k.Owns(KindCertificate, certName, certSubject)
}

// OwnsJob is Owns for a job read from msdb: it must also be in JobCategory.
func (c *Conn) OwnsJob(j Job) (string, bool) {
	run, ok := c.Owns(KindJob, j.Name, j.Description)
	return run, ok && j.Category == JobCategory
}

// Owns is OwnerKey().Owns: the run id of the object of kind called name whose mark is
// in text, and whether it is milink's by every test. An unreadable key makes nothing
// milink's.
func (c *Conn) Owns(kind, name, text string) (string, bool) {
	k, err := c.key()
	if err != nil {
		return "", false
	}
	return k.Owns(kind, name, text)
}
