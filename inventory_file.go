// The inventory file of milink check --inventory: SQL Server / managed instance pairs
// with check's options as snake_case keys, validated whole before any pair starts.

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/milink/milink/steps"
)

// maxInventorySize caps the inventory file.
const maxInventorySize = 4 << 20

// inventoryPair is one pair of the inventory, ready to run.
type inventoryPair struct {
	name    string
	cfg     steps.Config
	timeout time.Duration // the pair's own pair_timeout (0: --pair-timeout)
	cleanup string        // the milink cleanup command line for its servers (no password)
}

// Keys of a pair besides check's flags: its name and where its passwords come from.
const (
	keyName = "name"
)

// passwordKeys are the only keys with "password" in their name an inventory accepts:
// an environment variable's name, or a file readable by its owner only.
var passwordKeys = map[string]bool{"sql_password_env": true, "mi_password_env": true, "sql_password_file": true, "mi_password_file": true}

// notInInventory are check's flags a pair cannot set: the run's own options, pasted
// probe output, --watch, and passwords on standard input.
var notInInventory = map[string]string{
	"output": "it is the run's (--output)", "log-file": "it is the run's (--log-file)", "config": "", "quiet": "it is the run's (-q)",
	"inventory": "", "parallel": "it is the run's (--parallel)", "report-dir": "it is the run's (--report-dir)",
	"probe-output": "pasted probe output is for one pair: use milink check",
	"watch":        noWatch,
}

// noWatch says why an inventory run has no --watch (in the file or on the command line).
const noWatch = "watch is not available with --inventory (each pair is checked once): watch one pair with milink check --watch"

var (
	pairNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	envNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	flagRefRE  = regexp.MustCompile(`--([a-z0-9]+(?:-[a-z0-9]+)*)`)
)

// inventoryError is a usage error about the inventory file: the file, the pair (1-based
// index and name) and the field.
func inventoryError(file string, i int, name, field string, err error) error {
	where := fmt.Sprintf("inventory %s", file)
	if i >= 0 {
		where += fmt.Sprintf(": pair %d", i+1)
		if name != "" {
			where += " (" + name + ")"
		}
	}
	if field != "" {
		where += ": " + field
	}
	return usageError{fmt.Errorf("%s: %s", where, err.Error())}
}

// asKeys makes the flag names in an error of check's flag checks (--probe-timeout)
// read as the inventory's keys (probe_timeout).
func asKeys(err error) error {
	return errors.New(flagRefRE.ReplaceAllStringFunc(err.Error(), func(s string) string { return strings.ReplaceAll(s[2:], "-", "_") }))
}

// parseInventory reads the pairs of the file: a list of pairs, or an object with
// "pairs" and optional "defaults" (keys every pair gets unless it sets them). JSON
// for a .json file or one that starts with [ or {, else YAML.
func parseInventory(path string, data []byte) (defaults map[string]any, pairs []map[string]any, err error) {
	var doc any
	ext := strings.ToLower(filepath.Ext(path))
	trimmed := bytes.TrimSpace(data)
	if ext == ".json" || (ext != ".yaml" && ext != ".yml" && len(trimmed) > 0 && (trimmed[0] == '[' || trimmed[0] == '{')) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return nil, nil, inventoryError(path, -1, "", "", fmt.Errorf("not valid JSON: %w", err))
		}
	} else if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, inventoryError(path, -1, "", "", fmt.Errorf("not valid YAML: %w", err))
	}
	list, ok := doc.([]any)
	if m, isMap := doc.(map[string]any); isMap {
		for k := range m {
			if k != "pairs" && k != "defaults" {
				return nil, nil, inventoryError(path, -1, "", k, errors.New("unknown key; the file has pairs and, optionally, defaults"))
			}
		}
		if d, has := m["defaults"]; has {
			if defaults, ok = d.(map[string]any); !ok {
				return nil, nil, inventoryError(path, -1, "", "defaults", errors.New("must be a mapping of settings"))
			}
		}
		list, ok = m["pairs"].([]any)
	}
	if !ok || len(list) == 0 {
		return nil, nil, inventoryError(path, -1, "", "", errors.New("no pairs: the file is a list of pairs, or has a list under pairs"))
	}
	for i, item := range list {
		p, ok := item.(map[string]any)
		if !ok {
			return nil, nil, inventoryError(path, i, "", "", errors.New("a pair is a mapping of settings (sql_server, mi_server, ...)"))
		}
		pairs = append(pairs, p)
	}
	return defaults, pairs, nil
}

// loadInventory reads and validates the whole inventory, passwords included, before
// any pair starts; the first problem is returned as a usage error naming the file,
// the pair and the field. The named password variables are removed from the
// environment once read.
func (a *app) loadInventory(path string) ([]inventoryPair, error) {
	data, err := readCapped("inventory", path, maxInventorySize)
	if err != nil {
		return nil, err
	}
	defaults, raw, err := parseInventory(path, data)
	if err != nil {
		return nil, err
	}
	if err := checkKeys(path, -1, "", "defaults: ", defaults); err != nil {
		return nil, err
	}
	if _, has := defaults[keyName]; has {
		return nil, inventoryError(path, -1, "", "defaults: name", errors.New("each pair has its own name"))
	}
	secrets := &secretReader{a: a, base: filepath.Dir(path), read: map[string]string{}}
	defer secrets.unset()
	names := map[string]int{}
	out := make([]inventoryPair, len(raw))
	for i, p := range raw {
		name := fmt.Sprintf("pair-%02d", i+1)
		if v, has := p[keyName]; has {
			s, ok := v.(string)
			if !ok || !pairNameRE.MatchString(s) || strings.EqualFold(s, "summary") {
				return nil, inventoryError(path, i, "", keyName, fmt.Errorf("%v is not a usable name: 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit (it names the report files), and not 'summary'", v))
			}
			name = s
		}
		if j, dup := names[strings.ToLower(name)]; dup {
			return nil, inventoryError(path, i, name, keyName, fmt.Errorf("pair %d has the same name (names are compared ignoring case: they name report files)", j+1))
		}
		names[strings.ToLower(name)] = i
		if err := checkKeys(path, i, name, "", p); err != nil {
			return nil, err
		}
		merged := map[string]any{}
		for k, v := range defaults {
			merged[k] = v
		}
		for k, v := range p {
			merged[k] = v
		}
		delete(merged, keyName)
		if out[i], err = secrets.pair(path, i, name, merged); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkKeys refuses passwords and keys that are not settings of a pair.
func checkKeys(path string, i int, name, prefix string, m map[string]any) error {
	probe := &checkFlags{sql: connFlags{prefix: "sql"}, mi: connFlags{prefix: "mi"}}
	fs := pflag.NewFlagSet("pair", pflag.ContinueOnError)
	probe.register(fs)
	azure := pflag.NewFlagSet("azure", pflag.ContinueOnError)
	(&azureFlags{}).register(azure)
	for k := range m {
		flag := strings.ReplaceAll(k, "_", "-")
		switch why, excluded := notInInventory[flag]; {
		case k == keyName || passwordKeys[k]:
		case strings.Contains(k, "password"):
			return inventoryError(path, i, name, prefix+k, errors.New("passwords are not accepted in the inventory file: name an environment variable with sql_password_env / mi_password_env, or a file readable only by you (chmod 600) with sql_password_file / mi_password_file"))
		case azure.Lookup(flag) != nil:
			return inventoryError(path, i, name, prefix+k, errors.New("Entra ID and Azure checks are not supported in an inventory yet: check such a pair with milink check"))
		case excluded:
			if why == "" {
				why = "not a setting of a pair"
			}
			return inventoryError(path, i, name, prefix+k, errors.New(why))
		case strings.Contains(k, "-") || fs.Lookup(flag) == nil:
			return inventoryError(path, i, name, prefix+k, errors.New("unknown setting (keys are check's flag names in snake_case, e.g. sql_server, probe_timeout)"))
		}
	}
	return nil
}

// flagValues are the value(s) v gives a flag: a scalar, or a list for a list flag.
func flagValues(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case bool, int, int64, uint64, float64, json.Number:
		return []string{fmt.Sprint(x)}, nil
	case []any:
		var out []string
		for _, item := range x {
			s, err := flagValues(item)
			if err != nil || len(s) != 1 {
				return nil, errors.New("a list holds single values only")
			}
			out = append(out, s[0])
		}
		return out, nil
	case nil:
		return nil, errors.New("has no value")
	}
	return nil, errors.New("must be a single value or a list of values")
}
