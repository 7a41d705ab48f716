package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mlexport.dev/scorer"
)

const doc = `{"format":"mlexport-json","format_version":1,"task":"classification",
 "inputs":[{"name":"x","kind":"number","used":true},{"name":"city, town","kind":"string","used":true},
           {"name":"junk","kind":"number","used":false}],
 "steps":[{"type":"column_transformer","n_in":3,"n_out":3,"parts":[
    {"name":"num","columns":[0],"node":{"type":"impute","n_in":1,"n_out":1,"missing_value":{"number":"NaN"},
        "columns":[{"input":0,"fill":{"number":2.0}}],"indicators":[]}},
    {"name":"cat","columns":[1],"node":{"type":"one_hot","n_in":1,"n_out":2,"features":[
        {"kind":"string","categories":["a","","b"],"index":[0,1,-1],"width":2,"missing":-1,"on_unknown":"error"}]}}]}],
 "model":{"type":"linear","n_features":3,"n_outputs":1,"coef":[[1.0,10,100]],"intercept":[0]},
 "output":{"kind":"classifier","classes":["lo","hi, \"really\""],
           "label":{"from":"raw","rule":"threshold","threshold":50,"inclusive":true},
           "proba":{"transform":"complement_binary"}}}`

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func exitCode(err error) int {
	var ee *exitError
	var de *scorer.DocumentError
	var ie *scorer.InputError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &de), errors.As(err, &ie):
		return 2
	}
	return 1
}

func TestScoreCSV(t *testing.T) {
	dir := t.TempDir()
	model := writeFile(t, dir, "m.json", doc)
	// quoted header with a comma; extra column; "" is the empty string, an empty field is missing;
	// a quoted field spanning lines; CRLF line ends; a BOM.
	in := writeFile(t, dir, "in.csv", "\xef\xbb\xbfextra,x,\"city, town\"\r\n"+
		"1,3,a\r\n"+
		"2,,\"\"\r\n"+
		"3,0.5,\r\n"+
		"4,nan,\"b\"\r\n"+
		"5, 1e-1 ,\"multi\nline\"\r\n")
	out := filepath.Join(dir, "out.csv")
	var stderr bytes.Buffer
	err := run([]string{model, in, out}, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "unknown category 'multi\\nline' in row 4") {
		t.Fatalf("want the unknown category of row 4, got %v", err)
	}
	if exitCode(err) != 2 {
		t.Fatalf("exit code %d", exitCode(err))
	}
	if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
		t.Fatalf("a failed run must not leave an output file")
	}
	in = writeFile(t, dir, "in.csv", strings.Replace(readFile(t, in), "\"multi\nline\"", "a", 1))
	if err := run([]string{model, in, out}, io.Discard, &stderr); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, out)
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	wantLines := []string{
		`label,proba_lo,"proba_hi, ""really"""`,
		`lo,-12,13`,                 // 3 + 10*1 (a)
		`"hi, ""really""",-101,102`, // 2 (imputed) + 100*1 ("")
		`lo,0.5,0.5`,                // 0.5, missing city -> no column
		`lo,-1,2`,                   // NaN -> 2, b -> dropped (index -1)
		`lo,-9.1,10.1`,              // 0.1 + 10
	}
	if len(lines) != len(wantLines) {
		t.Fatalf("output:\n%s", got)
	}
	for i := range wantLines {
		if lines[i] != wantLines[i] {
			t.Errorf("line %d: got %s, want %s", i, lines[i], wantLines[i])
		}
	}
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	model := writeFile(t, dir, "m.json", doc)
	good := writeFile(t, dir, "good.csv", "x,\"city, town\"\n1,a\n")
	out := filepath.Join(dir, "out.csv")
	cases := []struct {
		name string
		args []string
		want string
		code int
	}{
		{"no args", nil, "expected 3 arguments", 2},
		{"bad flag", []string{"-nope", model, good, out}, "flag provided but not defined", 2},
		{"no model", []string{filepath.Join(dir, "none.json"), good, out}, "cannot open", 2},
		{"bad model", []string{writeFile(t, dir, "bad.json", `{"format":"mlexport-json","format_version":3}`), good, out},
			"version 3 is not supported", 2},
		{"bare nan", []string{writeFile(t, dir, "nan.json", strings.Replace(doc, `"intercept":[0]`, `"intercept":[NaN]`, 1)), good, out},
			"bare NaN", 2},
		{"no input", []string{model, filepath.Join(dir, "none.csv"), out}, "cannot open", 2},
		{"empty input", []string{model, writeFile(t, dir, "empty.csv", ""), out}, "is empty", 2},
		{"missing column", []string{model, writeFile(t, dir, "mc.csv", "x\n1\n"), out}, `missing column(s) "city, town"`, 2},
		{"field count", []string{model, writeFile(t, dir, "fc.csv", "x,\"city, town\"\n1,a,3\n"), out}, "line 2 has 3 fields", 2},
		{"not a number", []string{model, writeFile(t, dir, "nn.csv", "x,\"city, town\"\n1,a\nabc,a\n"), out},
			`line 3: column "x" must be numeric`, 2},
		{"open quote", []string{model, writeFile(t, dir, "oq.csv", "x,\"city, town\"\n1,\"a\n"), out}, "never closed", 2},
		{"duplicate column", []string{model, writeFile(t, dir, "dc.csv", "x,x,\"city, town\"\n1,1,a\n"), out}, "more than once", 2},
		{"unwritable", []string{model, good, filepath.Join(dir, "no", "such", "dir", "out.csv")}, "cannot write", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := run(c.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			if exitCode(err) != c.code {
				t.Fatalf("exit code %d, want %d", exitCode(err), c.code)
			}
		})
	}
}

func TestCheckAndDescribe(t *testing.T) {
	dir := t.TempDir()
	model := writeFile(t, dir, "m.json", doc)
	if err := run([]string{"-check", model}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{"-describe", model}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	want := `{"format_version":1,"task":"classification","inputs":[{"name":"x","kind":"number","used":true},` +
		`{"name":"city, town","kind":"string","used":true},{"name":"junk","kind":"number","used":false}],` +
		`"classes":["lo","hi, \"really\""],"has_proba":true,"columns":["label","proba_lo","proba_hi, \"really\""]}` + "\n"
	if out.String() != want {
		t.Fatalf("describe:\n%s\nwant\n%s", out.String(), want)
	}
}

func TestStdinStdout(t *testing.T) {
	dir := t.TempDir()
	model := writeFile(t, dir, "m.json", doc)
	in := writeFile(t, dir, "in.csv", "x,\"city, town\"\n1,a")
	saved := os.Stdin
	f, _ := os.Open(in)
	os.Stdin = f
	defer func() { os.Stdin = saved; f.Close() }()
	var out bytes.Buffer
	if err := run([]string{model, "-", "-"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if out.String() != "label,proba_lo,\"proba_hi, \"\"really\"\"\"\nlo,-10,11\n" {
		t.Fatalf("got %q", out.String())
	}
}

func TestCSVReader(t *testing.T) {
	r := newCSVReader(strings.NewReader("a,\"b\"\"c\",\n\n\"\",x\r\n\"p,q\",\"r\ns\"\nlast"))
	var got []string
	for {
		f, q, line, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%q%v", line, f, q))
	}
	want := []string{
		`1:["a" "b\"c" ""][false true false]`,
		`2:[""][false]`,
		`3:["" "x"][true false]`,
		`4:["p,q" "r\ns"][true true]`,
		`6:["last"][false]`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// BenchmarkReadCSV: CSV parsing and conversion of 20000 rows x 30 numbers (no scoring).
func BenchmarkReadCSV(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	var sb strings.Builder
	for j := 0; j < 30; j++ {
		if j > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, "f%d", j)
	}
	sb.WriteByte('\n')
	for i := 0; i < 20000; i++ {
		for j := 0; j < 30; j++ {
			if j > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "%v", rng.NormFloat64())
		}
		sb.WriteByte('\n')
	}
	data := sb.String()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := newCSVReader(strings.NewReader(data))
		n := 0
		for {
			f, _, _, err := r.Read()
			if err == io.EOF {
				break
			}
			for _, x := range f {
				v, _ := parseNumber(x)
				_ = scorer.Num(v)
			}
			n++
		}
		if n != 20001 {
			b.Fatal(n)
		}
	}
}
