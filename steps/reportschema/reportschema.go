// Package reportschema validates milink's JSON reports against the JSON Schema in
// testdata/report.schema.json. Only tests import it (layout_test.go checks that), so the
// schema validator never reaches the milink binary.
package reportschema

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Path is the schema file's path in the module: testdata/report.schema.json.
const Path = "testdata/report.schema.json"

var (
	once   sync.Once
	schema *jsonschema.Schema
	errLd  error
)

// file is the absolute path of the schema file, found from this source file's place in
// the module (steps/reportschema), so tests of any package find it.
func file() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..", Path)
}

// load compiles the schema once.
func load() (*jsonschema.Schema, error) {
	once.Do(func() {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		f, err := os.Open(file())
		if err != nil {
			errLd = err
			return
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			errLd = fmt.Errorf("%s: %w", Path, err)
			return
		}
		if err := c.AddResource(file(), doc); err != nil {
			errLd = err
			return
		}
		schema, errLd = c.Compile(file())
	})
	return schema, errLd
}

// Validate reports whether report (one JSON document, as milink check --output json or
// the wizard's saved .json write it) matches the schema; the error lists every
// violation with its JSON pointer.
func Validate(report []byte) error {
	s, err := load()
	if err != nil {
		return fmt.Errorf("load report schema: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(report))
	if err != nil {
		return fmt.Errorf("report is not JSON: %w", err)
	}
	return s.Validate(doc)
}

// Check fails t when report does not match the schema (see Validate).
func Check(t testing.TB, report []byte) {
	t.Helper()
	if err := Validate(report); err != nil {
		t.Errorf("report does not match %s: %v\nreport: %s", Path, err, report)
	}
}
