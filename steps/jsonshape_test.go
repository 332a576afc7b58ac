package steps_test

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/steps"
)

var snakeKey = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// TestReportKeysSnakeCase walks every type the JSON report can hold, also the fields a
// test run leaves empty (omitempty), and checks that each field has an explicit
// snake_case key and that no time.Duration reaches JSON (durations are written as float
// seconds in *_s keys by MarshalJSON).
func TestReportKeysSnakeCase(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(tp reflect.Type, path string)
	walk = func(tp reflect.Type, path string) {
		for tp.Kind() == reflect.Pointer || tp.Kind() == reflect.Slice || tp.Kind() == reflect.Map {
			tp = tp.Elem()
		}
		if tp.Kind() != reflect.Struct || seen[tp] || tp == reflect.TypeOf(time.Time{}) {
			return
		}
		seen[tp] = true
		for i := 0; i < tp.NumField(); i++ {
			f := tp.Field(i)
			if !f.IsExported() {
				continue
			}
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			where := path + "." + f.Name
			switch {
			case tag == "-":
				continue
			case f.Anonymous && tag == "":
				walk(f.Type, path)
				continue
			case f.Type == reflect.TypeOf(time.Duration(0)):
				t.Errorf("%s: a time.Duration in JSON (nanoseconds); write it as float seconds in a *_s key", where)
			case !snakeKey.MatchString(tag):
				t.Errorf("%s: JSON key %q is not snake_case (give the field a json tag)", where, tag)
			}
			walk(f.Type, where)
		}
	}
	walk(reflect.TypeOf(steps.Report{}), "Report")
	if len(seen) < 8 {
		t.Errorf("walked only %d types", len(seen))
	}
}
