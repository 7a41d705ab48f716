// Package scorer scores mlexport JSON documents ("mlexport-json",
// format_version 1): a fitted scikit-learn pipeline written as plain numbers
// by mlexport (mlexport.export(model, "json", path)).
//
// It needs nothing but the Go standard library. Load a document once, then
// call Predict as often as you like, from any number of goroutines:
//
//	f, _ := os.Open("model.json")
//	m, err := scorer.Load(f)            // validates the whole document
//	...
//	out, err := m.Predict([]scorer.Row{
//	    {scorer.Num(42), scorer.Str("paris"), scorer.Missing},
//	})
//	label := out.LabelString(0)         // "yes"
//	p := out.ProbaRow(0)                // in m.Classes() order
//
// A Row holds one Value per input column, in the order of m.Inputs(). The
// numbers are the ones the reference scorer (mlexport/jsonfmt/score.py) gives,
// which mlexport checks against scikit-learn: tree splits are bit-exact, and
// other numbers agree to about 1e-12.
package scorer

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"runtime/debug"
)

// FormatName and FormatVersion are what this scorer reads. A document with any
// other format_version is refused: see mlexport/jsonfmt/__init__.py.
const (
	FormatName    = "mlexport-json"
	FormatVersion = 1
)

// MaxDocumentBytes caps the size of a document Load reads.
var MaxDocumentBytes int64 = 512 << 20

// Kind is the kind of an input column.
type Kind uint8

const (
	KindNumber Kind = iota // float64, NaN for missing
	KindString             // strings; missing allowed
)

func (k Kind) String() string {
	if k == KindString {
		return "string"
	}
	return "number"
}

// Input is one input column of the model.
type Input struct {
	Name string
	Kind Kind
	// Used is false for a column no step reads: any value (or Missing) is fine.
	Used bool
}

// Value is one input cell. The zero Value is Missing.
type Value struct {
	tag uint8 // 0 missing, 1 number, 2 string
	num float64
	str string
}

// Missing is a missing cell (NaN in a number column, a missing string).
var Missing = Value{}

// Num is a number cell; NaN is a missing cell.
func Num(x float64) Value {
	if x != x {
		return Missing
	}
	return Value{tag: 1, num: x}
}

// Str is a string cell (the empty string is a string, not a missing value).
func Str(s string) Value { return Value{tag: 2, str: s} }

// IsMissing, IsNumber and IsString tell what the cell holds.
func (v Value) IsMissing() bool { return v.tag == 0 }
func (v Value) IsNumber() bool  { return v.tag == 1 }
func (v Value) IsString() bool  { return v.tag == 2 }

// Float is the number of a number cell (NaN for anything else).
func (v Value) Float() float64 {
	if v.tag == 1 {
		return v.num
	}
	return math.NaN()
}

// String is the text of a string cell ("" for anything else).
func (v Value) String() string { return v.str }

// Row is one record: a Value per model input, in Model.Inputs() order.
type Row []Value

// Task is "classification" or "regression".
type Task string

const (
	Classification Task = "classification"
	Regression     Task = "regression"
)

// ClassKind is the JSON type of a class value.
type ClassKind uint8

const (
	ClassInt ClassKind = iota
	ClassFloat
	ClassString
	ClassBool
)

// Class is one class of a classifier, as the document lists it.
type Class struct {
	Kind  ClassKind
	Int   int64
	Float float64
	Str   string
	Bool  bool
}

// String is the class as Python prints it (1, 2.5, "yes", True).
func (c Class) String() string {
	switch c.Kind {
	case ClassInt:
		return fmt.Sprint(c.Int)
	case ClassFloat:
		return pyFloat(c.Float)
	case ClassBool:
		if c.Bool {
			return "True"
		}
		return "False"
	}
	return c.Str
}

// Model is a loaded, validated document. It is immutable: Predict may be
// called concurrently.
type Model struct {
	version    int
	task       Task
	inputs     []Input
	steps      []*step
	nFeatures  int
	model      *modelNode
	out        *output
	batch      int // rows per scoring batch
	columnsOut []string
}

// Load reads and validates a whole document. Every problem is a
// *DocumentError (not JSON, unsupported format_version, unknown node type or
// field, wrong type, inconsistent shape, malformed tree, ...).
func Load(r io.Reader) (m *Model, err error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxDocumentBytes+1))
	if err != nil {
		return nil, &DocumentError{Msg: "cannot read: " + err.Error()}
	}
	if int64(len(data)) > MaxDocumentBytes {
		return nil, &DocumentError{Msg: fmt.Sprintf("larger than %d MiB (scorer.MaxDocumentBytes)", MaxDocumentBytes>>20)}
	}
	return LoadBytes(data)
}

// LoadBytes is Load from a byte slice.
func LoadBytes(data []byte) (m *Model, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, &DocumentError{Msg: fmt.Sprintf("internal error while loading (please report): %v\n%s", r, debug.Stack())}
		}
	}()
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &DocumentError{Msg: "empty document"}
	}
	doc, err := parseJSON(data)
	if err != nil {
		return nil, &DocumentError{Msg: err.Error()}
	}
	return compileDocument(doc)
}

func compileDocument(d *jval) (*Model, error) {
	if d.kind != jObj {
		return nil, fail("<document>", "must be an object. Got %s instead.", d.kind)
	}
	// format and version first: a newer document gets "upgrade", not "unknown field".
	if f := d.get("format"); f == nil || f.kind != jStr || f.str != FormatName {
		return nil, fail("format", "must be %s. Got %s instead.", pyQuote(FormatName, 40), descr(f))
	}
	if v := d.get("format_version"); v == nil || v.kind != jNum || v.num != FormatVersion {
		return nil, fail("format_version", "version %s is not supported by this scorer (supported: %d); upgrade the scorer",
			descr(v), FormatVersion)
	}
	if err := obj(d, "<document>", []string{"format", "format_version", "task", "inputs", "steps", "model", "output"},
		[]string{"producer"}); err != nil {
		return nil, err
	}
	m := &Model{version: FormatVersion}
	task, err := enum(d.get("task"), "task", "classification", "regression")
	if err != nil {
		return nil, err
	}
	m.task = Task(task)
	ins, err := array(d.get("inputs"), "inputs")
	if err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, fail("inputs", "must be a non-empty array")
	}
	if len(ins) > MaxWidth {
		return nil, fail("inputs", "more than %d columns", MaxWidth)
	}
	seen := make(map[string]bool, len(ins))
	for i, c := range ins {
		w := fmt.Sprintf("inputs[%d]", i)
		if err := obj(c, w, []string{"name", "kind", "used"}, nil); err != nil {
			return nil, err
		}
		name, err := str(c.get("name"), w+".name")
		if err != nil {
			return nil, err
		}
		kind, err := enum(c.get("kind"), w+".kind", "number", "string")
		if err != nil {
			return nil, err
		}
		used, err := boolean(c.get("used"), w+".used")
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, fail("inputs", "column names must be unique (%s is repeated)", pyQuote(name, 40))
		}
		seen[name] = true
		k := KindNumber
		if kind == "string" {
			k = KindString
		}
		m.inputs = append(m.inputs, Input{Name: name, Kind: k, Used: used})
	}
	stepsV, err := array(d.get("steps"), "steps")
	if err != nil {
		return nil, err
	}
	cur := len(m.inputs)
	widest := cur
	for i, s := range stepsV {
		st, err := compileTransform(s, fmt.Sprintf("steps[%d]", i))
		if err != nil {
			return nil, err
		}
		if st.nIn != cur {
			return nil, fail(st.where, "takes %d columns but receives %d", st.nIn, cur)
		}
		cur = st.nOut
		if st.widest > widest {
			widest = st.widest
		}
		m.steps = append(m.steps, st)
	}
	m.nFeatures = cur
	m.model, err = compileModel(d.get("model"), "model")
	if err != nil {
		return nil, err
	}
	if m.model.nFeatures != cur {
		return nil, fail("model", "takes %d features but the steps give %d", m.model.nFeatures, cur)
	}
	if m.model.widest > widest {
		widest = m.model.widest
	}
	m.out, err = compileOutput(d.get("output"), "output", m.model.nOutputs, m.task)
	if err != nil {
		return nil, err
	}
	// rows per batch: about 4M cells for the widest intermediate, 1..4096 rows
	m.batch = (4 << 20) / (widest + 1)
	if m.batch > 4096 {
		m.batch = 4096
	}
	if m.batch < 1 {
		m.batch = 1
	}
	m.columnsOut = m.out.columns()
	return m, nil
}

// Task is "classification" or "regression".
func (m *Model) Task() Task { return m.task }

// FormatVersion of the document.
func (m *Model) FormatVersion() int { return m.version }

// Inputs are the columns a Row holds, in order.
func (m *Model) Inputs() []Input { return append([]Input(nil), m.inputs...) }

// Classes of a classifier in document order (nil for a regressor).
func (m *Model) Classes() []Class {
	if m.out.classes == nil {
		return nil
	}
	return append([]Class(nil), m.out.classes...)
}

// HasProba tells whether a classifier gives class probabilities.
func (m *Model) HasProba() bool { return m.out.proba != nil }

// Targets is the number of values a regressor gives per row.
func (m *Model) Targets() int { return m.out.targets }

// Columns are the output column names, as mlexport's Outputs.to_frame() names
// them: label, proba_<class>... for a classifier (label, then decision or
// decision_<class>... for one without probabilities); value (or value_0,
// value_1, ... for several targets) for a regressor.
func (m *Model) Columns() []string { return append([]string(nil), m.columnsOut...) }

// Outputs of Predict for N rows.
type Outputs struct {
	N    int
	Task Task
	// Classifiers: Label[i] is the index in Classes of row i's label, and
	// Proba (nil when the document has no probabilities) holds N rows of
	// len(Classes) probabilities, row-major.
	Classes []Class
	Label   []int
	Proba   []float64
	// Decision (only when the document has no probabilities: LinearSVC, SGD
	// hinge, RidgeClassifier, ...) holds N rows of DecisionWidth decision
	// values, the classifier's raw scores: one per row for two classes, else
	// one per class.
	Decision      []float64
	DecisionWidth int
	// Regressors: Value holds N rows of Targets values, row-major.
	Targets int
	Value   []float64

	labelText []string
	columns   []string
}

// LabelClass is row i's label.
func (o *Outputs) LabelClass(i int) Class { return o.Classes[o.Label[i]] }

// LabelString is row i's label as Python prints the label array (1, 2.0, yes, True).
func (o *Outputs) LabelString(i int) string { return o.labelText[o.Label[i]] }

// ClassLabel is class k as LabelString prints it.
func (o *Outputs) ClassLabel(k int) string { return o.labelText[k] }

// ProbaRow is row i's probabilities in Classes order (nil without probabilities).
func (o *Outputs) ProbaRow(i int) []float64 {
	if o.Proba == nil {
		return nil
	}
	k := len(o.Classes)
	return o.Proba[i*k : (i+1)*k]
}

// DecisionRow is row i's decision values (nil when the model has probabilities).
func (o *Outputs) DecisionRow(i int) []float64 {
	if o.Decision == nil {
		return nil
	}
	return o.Decision[i*o.DecisionWidth : (i+1)*o.DecisionWidth]
}

// ValueRow is row i's regression values.
func (o *Outputs) ValueRow(i int) []float64 { return o.Value[i*o.Targets : (i+1)*o.Targets] }

// Columns are the output column names (see Model.Columns).
func (o *Outputs) Columns() []string { return o.columns }

// Record appends row i's fields, one per Columns() entry, to dst: the label
// as LabelString, numbers as FormatFloat.
func (o *Outputs) Record(i int, dst []string) []string {
	if o.Task == Classification {
		dst = append(dst, o.LabelString(i))
		for _, p := range o.ProbaRow(i) {
			dst = append(dst, FormatFloat(p))
		}
		for _, d := range o.DecisionRow(i) {
			dst = append(dst, FormatFloat(d))
		}
		return dst
	}
	for _, v := range o.ValueRow(i) {
		dst = append(dst, FormatFloat(v))
	}
	return dst
}

// Predict scores rows. Each row has one Value per Inputs() column. It fails
// with an *InputError on rows the model cannot score.
func (m *Model) Predict(rows []Row) (out *Outputs, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, internalError(r)
		}
	}()
	n := len(rows)
	for i, r := range rows {
		if len(r) != len(m.inputs) {
			return nil, inputErr("row %d has %d values; the model takes %d inputs", i, len(r), len(m.inputs))
		}
	}
	out = m.newOutputs(n)
	err = m.eachBatch(n, 0, func(j, i int) Value { return rows[i][j] }, func(cols []column, start, end int) error {
		return m.scoreBatch(cols, end-start, start, 0, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PredictColumns scores column-wise input: cols[j] holds the values of input
// j (len(cols) == len(Inputs())), all columns of the same length.
func (m *Model) PredictColumns(cols [][]Value) (*Outputs, error) {
	return m.PredictColumnsAt(cols, 0)
}

// PredictColumnsAt is PredictColumns for a chunk of a larger input whose first
// row is row firstRow: error messages number rows from there.
func (m *Model) PredictColumnsAt(cols [][]Value, firstRow int) (out *Outputs, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, internalError(r)
		}
	}()
	n, err := m.columnRows(cols)
	if err != nil {
		return nil, err
	}
	out = m.newOutputs(n)
	err = m.eachBatch(n, firstRow, func(j, i int) Value { return cols[j][i] }, func(batch []column, start, end int) error {
		return m.scoreBatch(batch, end-start, start, firstRow, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// columnRows checks column-wise input against the model's inputs and returns its row count.
func (m *Model) columnRows(cols [][]Value) (int, error) {
	if len(cols) != len(m.inputs) {
		return 0, inputErr("got %d columns; the model takes %d inputs", len(cols), len(m.inputs))
	}
	n := 0
	if len(cols) > 0 {
		n = len(cols[0])
	}
	for j, c := range cols {
		if len(c) != n {
			return 0, inputErr("column %s has %d values, column %s has %d", pyQuote(m.inputs[j].Name, 40), len(c),
				pyQuote(m.inputs[0].Name, 40), n)
		}
	}
	return n, nil
}

// eachBatch cuts n rows into batches of m.batch and hands fn each batch's input
// columns, built from cell(j, i) (input j, row i); rows are numbered from firstRow
// in error messages.
func (m *Model) eachBatch(n, firstRow int, cell func(j, i int) Value, fn func(cols []column, start, end int) error) error {
	cols := make([]column, len(m.inputs))
	for start := 0; start < n; start += m.batch {
		end := start + m.batch
		if end > n {
			end = n
		}
		for j, in := range m.inputs {
			c, err := buildColumn(end-start, func(i int) Value { return cell(j, start+i) }, firstRow+start, in)
			if err != nil {
				return err
			}
			cols[j] = c
		}
		if err := fn(cols, start, end); err != nil {
			return err
		}
	}
	return nil
}

func internalError(r any) error {
	return fmt.Errorf("internal error while scoring (please report): %v\n%s", r, debug.Stack())
}

func (m *Model) newOutputs(n int) *Outputs {
	o := &Outputs{N: n, Task: m.task, columns: m.columnsOut}
	if m.task == Classification {
		o.Classes = m.out.classes
		o.labelText = m.out.labelText
		o.Label = make([]int, n)
		if m.out.proba != nil {
			o.Proba = make([]float64, n*len(m.out.classes))
		} else {
			o.DecisionWidth = m.out.m
			o.Decision = make([]float64, n*m.out.m)
		}
	} else {
		o.Targets = m.out.targets
		o.Value = make([]float64, n*m.out.targets)
	}
	return o
}

// buildColumn turns n cells (cell(i) is row offset+i) into one input column:
// numbers (missing is NaN) for a number input, numbers and strings for a string input.
func buildColumn(n int, cell func(i int) Value, offset int, in Input) (column, error) {
	num := make([]float64, n)
	if !in.Used {
		for i := range num {
			num[i] = math.NaN()
		}
		return column{num: num}, nil
	}
	c := column{num: num}
	if in.Kind != KindNumber {
		c.str, c.isStr = make([]string, n), make([]bool, n)
	}
	for i := range num {
		v := cell(i)
		switch {
		case v.tag == 1:
			num[i] = v.num
		case v.tag == 0:
			num[i] = math.NaN()
		case in.Kind == KindNumber:
			return column{}, inputErr("column %s row %d must be numeric. Got string %s instead.",
				pyQuote(in.Name, 40), offset+i, pyQuote(v.str, 40))
		default:
			num[i] = math.NaN()
			c.str[i] = v.str
			c.isStr[i] = true
		}
	}
	return c, nil
}

// NumFeatures is the length of the numeric vector the model node receives.
func (m *Model) NumFeatures() int { return m.nFeatures }

// FeaturesColumns returns, for column-wise input as in PredictColumns, the
// numeric feature matrix the model node receives after all steps (rows x
// NumFeatures(), row-major): the reference scorer's Scorer.features, for
// debugging a pipeline.
func (m *Model) FeaturesColumns(cols [][]Value) (X []float64, err error) {
	defer func() {
		if r := recover(); r != nil {
			X, err = nil, internalError(r)
		}
	}()
	n, err := m.columnRows(cols)
	if err != nil {
		return nil, err
	}
	X = make([]float64, 0, n*m.nFeatures)
	err = m.eachBatch(n, 0, func(j, i int) Value { return cols[j][i] }, func(batch []column, start, end int) error {
		x, err := m.features(batch, &scoreCtx{n: end - start, offset: start})
		X = append(X, x...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return X, nil
}

// features runs a batch through the steps: the model's input, row-major.
func (m *Model) features(cols []column, sc *scoreCtx) ([]float64, error) {
	var err error
	for _, s := range m.steps {
		cols, err = s.apply(cols, sc)
		if err != nil {
			return nil, err
		}
	}
	n, nf := sc.n, m.nFeatures
	X := make([]float64, n*nf)
	for j, c := range cols {
		x, err := c.asNumber("model input", sc)
		if err != nil {
			return nil, err
		}
		for i := 0; i < n; i++ {
			X[i*nf+j] = x[i]
		}
	}
	return X, nil
}

// scoreBatch runs rows [offset, offset+n) of out through the steps, the model
// and the output; firstRow+offset numbers the first row in error messages.
func (m *Model) scoreBatch(cols []column, n, offset, firstRow int, out *Outputs) error {
	X, err := m.features(cols, &scoreCtx{n: n, offset: firstRow + offset})
	if err != nil {
		return err
	}
	raw := m.model.raw(X, n)
	m.out.apply(raw, n, offset, out)
	return nil
}
