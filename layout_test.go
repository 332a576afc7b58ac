package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The rooms of the layout (README, "Layout") and the import rules between them: imports
// point down, main → ui → steps → {sqlops, azureops, steps/probe}, and the simulator
// is wired in by main only.
const (
	modPath      = "github.com/milink/milink"
	stepsPath    = modPath + "/steps"
	probePath    = modPath + "/steps/probe"
	uiPath       = modPath + "/ui"
	sqlopsPath   = modPath + "/sqlops"
	azureopsPath = modPath + "/azureops"
	sqlsimPath   = modPath + "/sqlsim"
	schemaPath   = modPath + "/steps/reportschema"
)

// goPackage is what the import rules read of `go list -json`: a package's non-test
// imports, direct (Imports) and transitive (Deps).
type goPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// importRule forbids the packages in its from tree to import any package forbid
// matches: directly, or also through other packages when transitive is set.
type importRule struct {
	name       string
	from       func(path string) bool
	forbid     func(path string) bool
	transitive bool
	why        string
}

// in reports whether path is root or a package below it.
func in(root string) func(string) bool {
	return func(path string) bool { return path == root || strings.HasPrefix(path, root+"/") }
}

// is reports whether path is exactly p (steps, but not steps/probe).
func is(p string) func(string) bool { return func(path string) bool { return path == p } }

func either(fs ...func(string) bool) func(string) bool {
	return func(path string) bool {
		return slices.ContainsFunc(fs, func(f func(string) bool) bool { return f(path) })
	}
}

var layoutRules = []importRule{
	{name: "azureops", from: in(azureopsPath), forbid: either(is(stepsPath), in(uiPath)), transitive: true,
		why: "azureops returns its own result types; steps turns them into findings"},
	{name: "sqlops", from: in(sqlopsPath), forbid: either(is(stepsPath), in(uiPath)), transitive: true,
		why: "sqlops is the T-SQL layer below the flow"},
	{name: "probe", from: in(probePath), forbid: either(is(stepsPath), in(uiPath)), transitive: true,
		why: "the probers sit below the flow; steps calls them"},
	{name: "ui", from: in(uiPath), forbid: either(in(sqlopsPath), in(azureopsPath)),
		why: "the front-ends only ask and render; steps.Session reaches SQL and Azure"},
	{name: "sqlsim-importers", from: func(p string) bool { return p != modPath && !in(sqlsimPath)(p) }, forbid: in(sqlsimPath),
		why: "only main (demo, sim) and tests wire in the simulator"},
	{name: "reportschema", from: func(p string) bool { return p != schemaPath }, forbid: is(schemaPath), transitive: true,
		why: "the JSON Schema validator is for tests only and must not reach the binary"},
	{name: "sqlsim-steps", from: in(sqlsimPath), forbid: either(in(stepsPath), in(uiPath)), transitive: true,
		why: "the simulator speaks TDS and knows nothing of the wizard"},
}

// violations lists, one line each, the imports of pkgs that break r.
func (r importRule) violations(pkgs []goPackage) []string {
	var out []string
	for _, p := range pkgs {
		if !in(modPath)(p.ImportPath) || !r.from(p.ImportPath) {
			continue
		}
		imports := p.Imports
		if r.transitive {
			imports = p.Deps
		}
		for _, imp := range imports {
			if r.forbid(imp) {
				how := "imports"
				if !slices.Contains(p.Imports, imp) {
					how = "depends on"
				}
				out = append(out, p.ImportPath+" "+how+" "+imp+": "+r.why)
			}
		}
	}
	return out
}

// listPackages runs `go list -deps -json ./...` and decodes its stream of packages.
func listPackages(t *testing.T) []goPackage {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go command is not on PATH: %v", err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(goTool, "list", "-deps", "-json=ImportPath,Imports,Deps", "./...")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []goPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestImportGraph checks the import rules on the module's real import graph (non-test
// code only: tests may wire in anything).
func TestImportGraph(t *testing.T) {
	pkgs := listPackages(t)
	seen := map[string]bool{}
	for _, p := range pkgs {
		seen[p.ImportPath] = true
	}
	for _, want := range []string{modPath, stepsPath, probePath, uiPath, sqlopsPath, azureopsPath, sqlsimPath} {
		if !seen[want] {
			t.Fatalf("go list did not report %s: the rules would check nothing", want)
		}
	}
	for _, r := range layoutRules {
		t.Run(r.name, func(t *testing.T) {
			for _, v := range r.violations(pkgs) {
				t.Error(v)
			}
		})
	}
}

// TestImportRulesCatchViolations runs every rule on a fake graph that breaks it, and on
// the intended layout, which breaks none.
func TestImportRulesCatchViolations(t *testing.T) {
	good := []goPackage{
		{ImportPath: modPath, Imports: []string{uiPath, stepsPath, sqlsimPath, azureopsPath}},
		{ImportPath: uiPath, Imports: []string{stepsPath, "fmt"}, Deps: []string{stepsPath, probePath, sqlopsPath, azureopsPath}},
		{ImportPath: stepsPath, Imports: []string{sqlopsPath, azureopsPath, probePath}, Deps: []string{sqlopsPath, azureopsPath, probePath}},
		{ImportPath: probePath, Imports: []string{sqlopsPath}, Deps: []string{sqlopsPath}},
		{ImportPath: sqlopsPath, Imports: []string{"database/sql"}},
		{ImportPath: azureopsPath, Imports: []string{"net/http"}},
		{ImportPath: sqlsimPath, Imports: []string{sqlsimPath + "/tds", sqlopsPath}, Deps: []string{sqlsimPath + "/tds", sqlopsPath}},
		{ImportPath: sqlsimPath + "/tds"},
	}
	for _, r := range layoutRules {
		if v := r.violations(good); len(v) != 0 {
			t.Errorf("rule %s rejects the intended layout: %q", r.name, v)
		}
	}
	broken := map[string]goPackage{
		"azureops":         {ImportPath: azureopsPath, Imports: []string{stepsPath}, Deps: []string{stepsPath}},
		"sqlops":           {ImportPath: sqlopsPath + "/x", Imports: []string{"fmt"}, Deps: []string{"fmt", uiPath + "/theme"}},
		"probe":            {ImportPath: probePath, Imports: []string{sqlopsPath, uiPath}, Deps: []string{sqlopsPath, uiPath}},
		"ui":               {ImportPath: uiPath, Imports: []string{stepsPath, azureopsPath}, Deps: []string{stepsPath, azureopsPath}},
		"sqlsim-importers": {ImportPath: stepsPath, Imports: []string{sqlsimPath}, Deps: []string{sqlsimPath}},
		"sqlsim-steps":     {ImportPath: sqlsimPath + "/tds", Imports: []string{"fmt"}, Deps: []string{"fmt", stepsPath}},
		"reportschema":     {ImportPath: modPath, Imports: []string{uiPath}, Deps: []string{uiPath, schemaPath}},
	}
	for _, r := range layoutRules {
		bad, ok := broken[r.name]
		if !ok {
			t.Errorf("rule %s has no broken graph to test it", r.name)
			continue
		}
		if v := r.violations([]goPackage{bad}); len(v) != 1 || !strings.HasPrefix(v[0], bad.ImportPath+" ") {
			t.Errorf("rule %s on %+v: violations %q, want one naming %s", r.name, bad, v, bad.ImportPath)
		}
	}
	// steps/probe importing sqlops, and steps/probe itself, are not "steps".
	if v := layoutRules[2].violations([]goPackage{{ImportPath: probePath + "/x", Imports: []string{probePath}, Deps: []string{probePath, sqlopsPath}}}); len(v) != 0 {
		t.Errorf("probe importing probe: %q", v)
	}
}
