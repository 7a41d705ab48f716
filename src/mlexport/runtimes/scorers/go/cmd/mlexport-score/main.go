// Command mlexport-score scores a CSV file with an mlexport JSON document.
//
//	mlexport-score [flags] MODEL.json INPUT.csv OUTPUT.csv
//	mlexport-score -check MODEL.json
//	mlexport-score -describe MODEL.json
//
// INPUT.csv has a header line; the model's input columns are found by name
// (other columns are ignored). An unquoted empty field is a missing value; a
// quoted empty field ("") is an empty string. Number columns also accept NaN,
// Inf and -Inf. INPUT or OUTPUT "-" is standard input / output.
//
// OUTPUT.csv gets one row per input row with the columns of mlexport's
// Outputs.to_frame(): label and proba_<class>... for a classifier, value (or
// value_0, value_1, ...) for a regressor. Numbers are written as the shortest
// text that reads back to the same float64; non-finite as NaN, Inf, -Inf.
// The output file is written atomically (a temporary file renamed at the end).
//
// Every error is one line on standard error, and the exit status is 2 for a
// bad document, bad input data or bad usage, 1 for anything else.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"mlexport.dev/scorer"
)

const prog = "mlexport-score"

type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErr(format string, args ...interface{}) error {
	return &exitError{2, fmt.Sprintf(format, args...)}
}

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	code := 1
	var ee *exitError
	var de *scorer.DocumentError
	var ie *scorer.InputError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case errors.As(err, &de), errors.As(err, &ie):
		code = 2
	}
	msg := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", " | ")
	fmt.Fprintf(os.Stderr, "%s: %s\n", prog, msg)
	os.Exit(code)
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	check := fs.Bool("check", false, "only load and validate MODEL.json")
	describe := fs.Bool("describe", false, "print MODEL.json's inputs, task, classes and output columns as JSON")
	timing := fs.Bool("timing", false, "print load / read / score / write times on standard error")
	features := fs.Bool("features", false, "write the model's input features (f0, f1, ...) instead of predictions")
	chunk := fs.Int("chunk", 16384, "rows read and scored at a time")
	maxMB := fs.Int("max-document-mb", int(scorer.MaxDocumentBytes>>20), "largest document accepted, in MiB")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, usage())
			return nil
		}
		return usageErr("%v (%s)", err, usage())
	}
	rest := fs.Args()
	if *check || *describe {
		if len(rest) != 1 {
			return usageErr("-check and -describe take one argument, MODEL.json (%s)", usage())
		}
	} else if len(rest) != 3 {
		return usageErr("expected 3 arguments, got %d (%s)", len(rest), usage())
	}
	if *chunk < 1 || *maxMB < 1 {
		return usageErr("-chunk and -max-document-mb must be positive")
	}
	scorer.MaxDocumentBytes = int64(*maxMB) << 20

	t0 := time.Now()
	model, err := loadModel(rest[0])
	if err != nil {
		return err
	}
	tLoad := time.Since(t0)
	if *check {
		return nil
	}
	if *describe {
		_, err := stdout.Write(describeJSON(model))
		return err
	}
	st, err := scoreFile(model, rest[1], rest[2], *chunk, *features, stdout)
	if err != nil {
		return err
	}
	if *timing {
		rate := 0.0
		if st.score > 0 {
			rate = float64(st.rows) / st.score.Seconds()
		}
		fmt.Fprintf(stderr, "timing: load %.1f ms; read %.1f ms; score %.1f ms (%d rows, %.0f rows/s); write %.1f ms\n",
			ms(tLoad), ms(st.read), ms(st.score), st.rows, rate, ms(st.write))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func usage() string {
	return "usage: " + prog + " [-timing] [-features] [-chunk N] [-max-document-mb N] MODEL.json INPUT.csv OUTPUT.csv | -check MODEL.json | -describe MODEL.json"
}

func loadModel(path string) (*scorer.Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageErr("%s: cannot open: %v", path, unwrapPathErr(err))
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, usageErr("%s: is a directory", path)
	}
	m, err := scorer.Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

type stats struct {
	rows               int
	read, score, write time.Duration
}

func scoreFile(m *scorer.Model, inPath, outPath string, chunk int, features bool, stdout io.Writer) (st stats, err error) {
	var in io.Reader = os.Stdin
	if inPath != "-" {
		f, err := os.Open(inPath)
		if err != nil {
			return st, usageErr("%s: cannot open: %v", inPath, unwrapPathErr(err))
		}
		defer f.Close()
		in = f
	}
	var out io.Writer = stdout
	var tmp *os.File
	if outPath != "-" {
		dir := filepath.Dir(outPath)
		tmp, err = os.CreateTemp(dir, "."+filepath.Base(outPath)+".*.tmp")
		if err != nil {
			return st, usageErr("%s: cannot write: %v", outPath, unwrapPathErr(err))
		}
		defer func() {
			if tmp != nil {
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
		out = tmp
	}
	w := bufio.NewWriterSize(out, 1<<20)
	st, err = scoreStream(m, in, inPath, w, chunk, features)
	if err != nil {
		return st, err
	}
	t := time.Now()
	if err := w.Flush(); err != nil {
		return st, fmt.Errorf("%s: cannot write: %v", outPath, err)
	}
	if tmp != nil {
		if err := tmp.Close(); err != nil {
			return st, fmt.Errorf("%s: cannot write: %v", outPath, err)
		}
		if err := os.Rename(tmp.Name(), outPath); err != nil {
			return st, fmt.Errorf("%s: cannot write: %v", outPath, unwrapPathErr(err))
		}
		tmp = nil
	}
	st.write += time.Since(t)
	return st, nil
}

// scoreStream reads CSV rows from in, scores them chunk by chunk and writes the outputs to w.
func scoreStream(m *scorer.Model, in io.Reader, inName string, w *bufio.Writer, chunk int, features bool) (st stats, err error) {
	t := time.Now()
	r := newCSVReader(in)
	header, _, _, err := r.Read()
	if err == io.EOF {
		return st, usageErr("%s: is empty; expected a header line with column names", inName)
	}
	if err != nil {
		return st, usageErr("%s: %v", inName, err)
	}
	inputs := m.Inputs()
	// where each input is in the file (-1: not read)
	pos := make([]int, len(inputs))
	byName := make(map[string]int, len(header))
	dup := map[string]bool{}
	for i, h := range header {
		if _, ok := byName[h]; ok {
			dup[h] = true
			continue
		}
		byName[h] = i
	}
	var missing []string
	for j, in := range inputs {
		pos[j] = -1
		if !in.Used {
			continue
		}
		i, ok := byName[in.Name]
		if !ok {
			missing = append(missing, strconv.Quote(in.Name))
			continue
		}
		if dup[in.Name] {
			return st, usageErr("%s: column %q appears more than once in the header", inName, in.Name)
		}
		pos[j] = i
	}
	if len(missing) > 0 {
		if len(missing) > 5 {
			missing = append(missing[:5], "...")
		}
		return st, usageErr("%s: missing column(s) %s that the model needs", inName, strings.Join(missing, ", "))
	}
	nFields := len(header)

	cols := make([][]scorer.Value, len(inputs))
	for j := range cols {
		cols[j] = make([]scorer.Value, 0, chunk)
	}
	buf := make([]byte, 0, 1<<16)
	// header
	columns := m.Columns()
	if features {
		columns = make([]string, m.NumFeatures())
		for k := range columns {
			columns[k] = "f" + strconv.Itoa(k)
		}
	}
	for k, c := range columns {
		if k > 0 {
			buf = append(buf, ',')
		}
		buf = appendField(buf, c)
	}
	buf = append(buf, '\n')
	if _, err := w.Write(buf); err != nil {
		return st, err
	}
	st.read += time.Since(t)

	flush := func() error {
		if len(cols[0]) == 0 && len(inputs) > 0 {
			return nil
		}
		t := time.Now()
		if features {
			X, err := m.FeaturesColumns(cols)
			if err != nil {
				return fmt.Errorf("%s: %w", inName, err)
			}
			st.score += time.Since(t)
			t = time.Now()
			if err := writeMatrix(w, X, m.NumFeatures(), buf[:0]); err != nil {
				return err
			}
			st.write += time.Since(t)
			st.rows += len(cols[0])
		} else {
			o, err := m.PredictColumnsAt(cols, st.rows)
			if err != nil {
				return fmt.Errorf("%s: %w", inName, err)
			}
			st.score += time.Since(t)
			t = time.Now()
			if err := writeOutputs(w, o, buf[:0]); err != nil {
				return err
			}
			st.write += time.Since(t)
			st.rows += o.N
		}
		for j := range cols {
			cols[j] = cols[j][:0]
		}
		return nil
	}

	t = time.Now()
	for {
		fields, quoted, line, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, usageErr("%s: %v", inName, err)
		}
		if len(fields) == 1 && fields[0] == "" && !quoted[0] && nFields > 1 {
			continue // a blank line
		}
		if len(fields) != nFields {
			return st, usageErr("%s: line %d has %d fields, the header has %d", inName, line, len(fields), nFields)
		}
		for j, in := range inputs {
			p := pos[j]
			if p < 0 {
				cols[j] = append(cols[j], scorer.Missing)
				continue
			}
			f, q := fields[p], quoted[p]
			if in.Kind == scorer.KindString {
				if f == "" && !q {
					cols[j] = append(cols[j], scorer.Missing)
				} else {
					cols[j] = append(cols[j], scorer.Str(f))
				}
				continue
			}
			v, ok := parseNumber(f)
			if !ok {
				return st, usageErr("%s: line %d: column %q must be numeric. Got %q instead.", inName, line, in.Name, f)
			}
			cols[j] = append(cols[j], scorer.Num(v))
		}
		if len(inputs) > 0 && len(cols[0]) >= chunk {
			st.read += time.Since(t)
			if err := flush(); err != nil {
				return st, err
			}
			t = time.Now()
		}
	}
	st.read += time.Since(t)
	return st, flush()
}

// parseNumber reads a number field: empty (after trimming spaces) is missing.
func parseNumber(f string) (float64, bool) {
	s := strings.TrimSpace(f)
	if s == "" {
		return math.NaN(), true
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return v, true // beyond float64: +-Inf or 0, as Python reads it
		}
		return 0, false
	}
	return v, true
}

func appendFloat(dst []byte, v float64) []byte {
	switch {
	case v != v:
		return append(dst, "NaN"...)
	case math.IsInf(v, 1):
		return append(dst, "Inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-Inf"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

func writeMatrix(w *bufio.Writer, X []float64, nf int, buf []byte) error {
	if nf == 0 {
		return nil
	}
	for r := 0; r*nf < len(X); r++ {
		buf = append(appendFloats(buf[:0], X[r*nf:(r+1)*nf], false), '\n')
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

func writeOutputs(w *bufio.Writer, o *scorer.Outputs, buf []byte) error {
	var labels []string
	if o.Task == scorer.Classification {
		labels = make([]string, len(o.Classes))
		for k := range o.Classes {
			labels[k] = string(appendField(nil, o.ClassLabel(k)))
			if labels[k] == "" {
				labels[k] = `""` // an empty label must not make an empty line
			}
		}
	}
	for i := 0; i < o.N; i++ {
		buf = buf[:0]
		if o.Task == scorer.Classification {
			buf = append(buf, labels[o.Label[i]]...)
			buf = appendFloats(buf, o.ProbaRow(i), true)
			buf = appendFloats(buf, o.DecisionRow(i), true)
		} else {
			buf = appendFloats(buf, o.ValueRow(i), false)
		}
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// appendFloats appends vals as comma-separated fields, with a comma before the
// first one when more fields precede it on the line.
func appendFloats(dst []byte, vals []float64, after bool) []byte {
	for k, v := range vals {
		if k > 0 || after {
			dst = append(dst, ',')
		}
		dst = appendFloat(dst, v)
	}
	return dst
}

func describeJSON(m *scorer.Model) []byte {
	type input struct {
		Name string `json:"name"`
		Kind string `json:"kind"`
		Used bool   `json:"used"`
	}
	var b strings.Builder
	b.WriteString(`{"format_version":`)
	b.WriteString(strconv.Itoa(m.FormatVersion()))
	b.WriteString(`,"task":"`)
	b.WriteString(string(m.Task()))
	b.WriteString(`","inputs":`)
	ins := make([]input, 0, len(m.Inputs()))
	for _, in := range m.Inputs() {
		ins = append(ins, input{in.Name, in.Kind.String(), in.Used})
	}
	js, _ := json.Marshal(ins)
	b.Write(js)
	b.WriteString(`,"classes":`)
	if cl := m.Classes(); cl == nil {
		b.WriteString("null")
	} else {
		b.WriteByte('[')
		for k, c := range cl {
			if k > 0 {
				b.WriteByte(',')
			}
			switch c.Kind {
			case scorer.ClassString:
				s, _ := json.Marshal(c.Str)
				b.Write(s)
			case scorer.ClassBool:
				b.WriteString(strconv.FormatBool(c.Bool))
			default:
				b.WriteString(c.String()) // 1 or 2.0: the JSON type survives
			}
		}
		b.WriteByte(']')
	}
	b.WriteString(`,"has_proba":`)
	b.WriteString(strconv.FormatBool(m.HasProba()))
	b.WriteString(`,"columns":`)
	js, _ = json.Marshal(m.Columns())
	b.Write(js)
	b.WriteString("}\n")
	return []byte(b.String())
}
