package sqlops

import (
	"errors"
	"testing"
)

func TestParseServer(t *testing.T) {
	good := map[string]ServerAddress{
		"db1":                   {Host: "db1"},
		`db1\INST1`:             {Host: "db1", Instance: "INST1"},
		"db1,1444":              {Host: "db1", Port: 1444},
		"tcp:db1,1444":          {Host: "db1", Port: 1444},
		`tcp:db1.corp\Sales_$1`: {Host: "db1.corp", Instance: "Sales_$1"},
		`db1\INST1,1500`:        {Host: "db1", Instance: "INST1", Port: 1500},
		"[::1],1433":            {Host: "::1", Port: 1433},
		"10.0.0.5":              {Host: "10.0.0.5"},
	}
	for in, want := range good {
		got, err := ParseServer(in)
		if err != nil || got != want {
			t.Errorf("ParseServer(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{`db1\`, `db1\1inst`, `db1\my-inst`, `db1\ABCDEFGHIJKLMNOPQ`, `db1\MSSQLSERVER`, `db1\Default`,
		"db1,0", "db1,65536", "db1,01433", "db1,", "np:db1", `admin:db1`, "", `db1\in st`} {
		if _, err := ParseServer(in); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("ParseServer(%q) = %v, want ErrInvalidInput", in, err)
		}
	}
}
