package scorer

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand"
	"strings"
	"testing"
)

// A classifier over a number column (imputed, scaled), a string column
// (one-hot, unknown ignored) and an unused column.
const clfDoc = `{"format":"mlexport-json","format_version":1,"task":"classification",
 "producer":{"name":"test"},
 "inputs":[{"name":"x","kind":"number","used":true},{"name":"city","kind":"string","used":true},
           {"name":"junk","kind":"number","used":false}],
 "steps":[{"type":"column_transformer","n_in":3,"n_out":4,"parts":[
    {"name":"num","columns":[0],"node":{"type":"pipeline","n_in":1,"n_out":1,"steps":[
        {"type":"impute","n_in":1,"n_out":1,"missing_value":{"number":"NaN"},
         "columns":[{"input":0,"fill":{"number":2.0}}],"indicators":[]},
        {"type":"center_scale","n_in":1,"n_out":1,"center":[1.0],"scale":[2.0]}]}},
    {"name":"cat","columns":[1],"node":{"type":"one_hot","path":"cat/onehot","n_in":1,"n_out":3,"features":[
        {"kind":"string","categories":["a","b","c"],"index":[0,1,2],"width":3,"on_unknown":"encode","unknown":-1}]}}]}],
 "model":{"type":"linear","n_features":4,"n_outputs":1,"coef":[[1.0,0.5,-0.5,0.0]],"intercept":[0.25]},
 "output":{"kind":"classifier","classes":["no","yes"],
           "label":{"from":"raw","rule":"threshold","threshold":0.0,"inclusive":false},
           "proba":{"transform":"sigmoid_binary","scale":1.0}}}`

// A float32-cast regression tree with NaN routing.
const treeDoc = `{"format":"mlexport-json","format_version":1,"task":"regression",
 "inputs":[{"name":"a","kind":"number","used":true},{"name":"b","kind":"number","used":true}],
 "steps":[],
 "model":{"type":"tree_ensemble","n_features":2,"n_outputs":1,"input_cast":"float32","init":[0.5],
   "tree_scale":2.0,"divide":4.0,"trees":[
   {"target":0,"width":1,"feature":[0,-1,1,-1,-1],"threshold":[0.1,0,5,0,0],"left":[1,-1,3,-1,-1],
    "right":[2,-1,4,-1,-1],"missing_left":[1,0,0,0,0],"value":[0,1,0,10,20]}]},
 "output":{"kind":"regressor","transform":"identity","squeeze":true}}`

// A histogram-gradient-boosting style categorical split.
const catDoc = `{"format":"mlexport-json","format_version":1,"task":"regression",
 "inputs":[{"name":"c","kind":"number","used":true}],
 "steps":[],
 "model":{"type":"tree_ensemble","n_features":1,"n_outputs":1,"input_cast":"none","init":[0],
   "tree_scale":1,"divide":1,"known_categories":[{"feature":0,"bitset":[15,0,0,0,0,0,0,0]}],"trees":[
   {"target":0,"width":1,"feature":[0,-1,-1],"threshold":[0,0,0],"left":[1,-1,-1],"right":[2,-1,-1],
    "missing_left":[1,0,0],"category_set":[0,-1,-1],"bitsets":[[5,0,0,0,0,0,0,0]],"value":[0,-1,1]}]},
 "output":{"kind":"regressor","transform":"identity","squeeze":false}}`

func mustLoad(t testing.TB, doc string) *Model {
	t.Helper()
	m, err := LoadBytes([]byte(doc))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return m
}

func close(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-12+1e-12*math.Abs(b)
}

func TestClassifierPipeline(t *testing.T) {
	m := mustLoad(t, clfDoc)
	if got := strings.Join(m.Columns(), ","); got != "label,proba_no,proba_yes" {
		t.Fatalf("columns %s", got)
	}
	rows := []Row{
		{Num(3), Str("a"), Missing},
		{Missing, Str("zzz"), Num(7)},
		{Num(-5), Missing, Str("unused columns take anything")},
	}
	out, err := m.Predict(rows)
	if err != nil {
		t.Fatal(err)
	}
	raws := []float64{1.75, 0.75, -2.75}
	labels := []string{"yes", "yes", "no"}
	for i, raw := range raws {
		if out.LabelString(i) != labels[i] {
			t.Errorf("row %d: label %s, want %s", i, out.LabelString(i), labels[i])
		}
		p := 1 / (1 + math.Exp(-raw))
		if pr := out.ProbaRow(i); !close(pr[1], p) || !close(pr[0], 1-p) {
			t.Errorf("row %d: proba %v, want %v", i, pr, []float64{1 - p, p})
		}
	}
	// the column-wise entry point gives the same
	out2, err := m.PredictColumns([][]Value{{Num(3), Missing, Num(-5)}, {Str("a"), Str("zzz"), Missing}, {Missing, Missing, Missing}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range out.Proba {
		if out.Proba[i] != out2.Proba[i] {
			t.Fatalf("PredictColumns differs from Predict")
		}
	}
}

func TestTreeFloat32CastAndNaN(t *testing.T) {
	m := mustLoad(t, treeDoc)
	nan := math.NaN()
	cases := []struct{ a, b, leaf float64 }{
		{0.05, 0, 1},
		{0.1, 1, 10},         // float32(0.1) > 0.1: goes right
		{0.099999999, 1, 10}, // rounds to float32(0.1) too
		{0.09999999, 1, 1},
		{nan, 99, 1},   // missing goes left at the root
		{0.2, nan, 20}, // missing goes right at node 2
		{0.2, 5, 10},
		{1e39, 9, 20}, // float32 overflow: +Inf
		{-1e39, 9, 1},
	}
	var rows []Row
	for _, c := range cases {
		rows = append(rows, Row{Num(c.a), Num(c.b)})
	}
	out, err := m.Predict(rows)
	if err != nil {
		t.Fatal(err)
	}
	if m.Columns()[0] != "value" || out.Targets != 1 {
		t.Fatalf("columns %v", m.Columns())
	}
	for i, c := range cases {
		want := (0.5 + 2*c.leaf) / 4
		if out.Value[i] != want {
			t.Errorf("case %d (%v, %v): got %v, want %v", i, c.a, c.b, out.Value[i], want)
		}
	}
}

func TestCastFloat32(t *testing.T) {
	for _, x := range []float64{0, 0.1, -0.1, 1e-40, 3.4028234663852886e+38, 3.4028235677973366e+38, 1e300, math.Inf(-1)} {
		want := float64(float32(x))
		if math.Abs(x) > 3.4028235677973366e+38 {
			want = math.Inf(int(math.Copysign(1, x)))
		}
		if got := castFloat32(x); got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("castFloat32(%v) = %v, want %v", x, got, want)
		}
	}
	if !math.IsInf(castFloat32(f32Overflow), 1) || math.IsInf(castFloat32(math.Nextafter(f32Overflow, 0)), 1) {
		t.Errorf("float32 overflow boundary is wrong")
	}
	if !math.IsNaN(castFloat32(math.NaN())) {
		t.Errorf("NaN must stay NaN")
	}
}

func TestCategoricalSplit(t *testing.T) {
	m := mustLoad(t, catDoc)
	if got := strings.Join(m.Columns(), ","); got != "value_0" {
		t.Fatalf("columns %s (squeeze false keeps value_0)", got)
	}
	cases := []struct{ x, want float64 }{
		{0, -1}, {1, 1}, {2, -1}, {2.7, -1}, {3, 1}, {5, -1}, {math.NaN(), -1}, {-1, -1}, {-0.5, -1}, {300, -1},
	}
	var rows []Row
	for _, c := range cases {
		rows = append(rows, Row{Num(c.x)})
	}
	out, err := m.Predict(rows)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if out.Value[i] != c.want {
			t.Errorf("x=%v: got %v, want %v", c.x, out.Value[i], c.want)
		}
	}
}

func TestInputErrors(t *testing.T) {
	m := mustLoad(t, clfDoc)
	_, err := m.Predict([]Row{{Str("3"), Str("a"), Missing}})
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "must be numeric") {
		t.Errorf("string in a number column: %v", err)
	}
	_, err = m.Predict([]Row{{Num(1), Str("a")}})
	if !errors.As(err, &ie) {
		t.Errorf("short row: %v", err)
	}
	strict := strings.Replace(clfDoc, `"on_unknown":"encode","unknown":-1`, `"on_unknown":"error"`, 1)
	m = mustLoad(t, strict)
	_, err = m.Predict([]Row{{Num(1), Str("a"), Missing}, {Num(1), Str("tokyo"), Missing}})
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "unknown category 'tokyo' in row 1") {
		t.Errorf("unknown category: %v", err)
	}
	_, err = m.Predict([]Row{{Num(1), Missing, Missing}})
	if err == nil || !strings.Contains(err.Error(), "a missing value in row 0") {
		t.Errorf("missing category: %v", err)
	}
}

func TestZeroRows(t *testing.T) {
	m := mustLoad(t, clfDoc)
	out, err := m.Predict(nil)
	if err != nil || out.N != 0 || len(out.Label) != 0 {
		t.Fatalf("zero rows: %v %v", out, err)
	}
}

func TestLogOfSubnormals(t *testing.T) {
	for x, want := range map[float64]float64{5e-324: -744.4400719213812, 1e-310: -713.8013788281542,
		2.2250738585072014e-308: -708.3964185322641, 1: 0, 0: math.Inf(-1)} {
		if got := logPortable(x); math.Abs(got-want) > 1e-12*math.Abs(want) {
			t.Errorf("log(%v) = %v, want %v", x, got, want)
		}
	}
	if !math.IsNaN(logPortable(-1e-310)) {
		t.Errorf("log of a negative subnormal must be NaN")
	}
}

func TestPortableMath(t *testing.T) {
	// values numpy gives; math.Exp / math.Log / math.Pow on amd64 get some of them wrong
	for _, c := range []struct{ got, want float64 }{
		{expPortable(709.7), 1.6549840276802644e+308}, {expPortable(-744), 1e-323}, {expPortable(1), math.E},
		{expPortable(-745.2), 0}, {expPortable(709.8), math.Inf(1)},
		{powPortable(1e-310, 1.5), 0}, {powPortable(2, 10), 1024}, {powPortable(-8, 1.0/3), math.NaN()},
		{powPortable(math.Inf(-1), 0.5), math.Inf(1)}, {powPortable(math.NaN(), 0), 1},
		{log10Portable(0.1), -1}, {log10Portable(1000), 3}, {log10Portable(1e-300), -300}, {log10Portable(5e-324), -323.3062153431158},
		{log10Portable(2), 0.3010299956639812},
	} {
		if !(c.got == c.want || (c.got != c.got && c.want != c.want) ||
			math.Abs(c.got-c.want) <= 1e-15*math.Abs(c.want)) {
			t.Errorf("got %v, want %v", c.got, c.want)
		}
	}
}

func TestPyFloat(t *testing.T) {
	for x, want := range map[float64]string{
		2: "2.0", 1.5: "1.5", -0.25: "-0.25", 1e16: "1e+16", 1e15: "1000000000000000.0", 1e-5: "1e-05",
		0.0001: "0.0001", 123456789.125: "123456789.125", 1.2345678901234568e+17: "1.2345678901234568e+17",
		0: "0.0", 5e-324: "5e-324", 1e22: "1e+22",
	} {
		if got := pyFloat(x); got != want {
			t.Errorf("pyFloat(%v) = %q, want %q", x, got, want)
		}
	}
	if FormatFloat(math.NaN()) != "NaN" || FormatFloat(math.Inf(-1)) != "-Inf" || FormatFloat(0.1) != "0.1" {
		t.Errorf("FormatFloat")
	}
}

func TestClassLabels(t *testing.T) {
	for classes, want := range map[string]string{
		`[0,1]`:         "0,1|proba_0,proba_1",
		`[1,2.5]`:       "1.0,2.5|proba_1,proba_2.5",
		`[true,false]`:  "True,False|proba_True,proba_False",
		`["n",1]`:       "n,1|proba_n,proba_1",
		`["NaN","x,y"]`: "NaN,x,y|proba_NaN,proba_x,y",
	} {
		doc := strings.Replace(clfDoc, `["no","yes"]`, classes, 1)
		m := mustLoad(t, doc)
		out, _ := m.Predict(nil)
		got := out.ClassLabel(0) + "," + out.ClassLabel(1) + "|" + strings.Join(m.Columns()[1:], ",")
		if got != want {
			t.Errorf("classes %s: got %s, want %s", classes, got, want)
		}
	}
}

// --------------------------------------------------------------------------- malformed documents

func mutate(t *testing.T, doc string, f func(d map[string]interface{})) string {
	t.Helper()
	var d map[string]interface{}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatal(err)
	}
	f(d)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func firstTree(d map[string]interface{}) map[string]interface{} {
	return d["model"].(map[string]interface{})["trees"].([]interface{})[0].(map[string]interface{})
}

func TestMalformedDocuments(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"empty", "", "empty document"},
		{"not json", "hello", "not valid JSON: line 1, column 1"},
		{"truncated", clfDoc[:len(clfDoc)/2], "truncated"},
		{"trailing", clfDoc + "{}", "extra data"},
		{"bare NaN", strings.Replace(clfDoc, `"center":[1.0]`, `"center":[NaN]`, 1), "bare NaN is not JSON"},
		{"bare Infinity", strings.Replace(clfDoc, `"scale":[2.0]`, `"scale":[-Infinity]`, 1), "bare -Infinity"},
		{"top array", "[1,2]", "must be an object"},
		{"other format", strings.Replace(clfDoc, `"mlexport-json"`, `"pmml"`, 1), "format: must be 'mlexport-json'"},
		{"version 2", strings.Replace(clfDoc, `"format_version":1`, `"format_version":2`, 1), "version 2 is not supported"},
		{"version string", strings.Replace(clfDoc, `"format_version":1`, `"format_version":"1"`, 1), "not supported"},
		{"unknown top field", strings.Replace(clfDoc, `"task"`, `"extra":1,"task"`, 1), "unknown field(s) 'extra'"},
		{"unknown step type", strings.Replace(clfDoc, `"type":"center_scale"`, `"type":"quantile"`, 1), "unknown node type 'quantile'"},
		{"unknown model type", strings.Replace(clfDoc, `"type":"linear"`, `"type":"svm"`, 1), "unknown model type 'svm'"},
		{"unknown node field", strings.Replace(clfDoc, `"center":[1.0]`, `"center":[1.0],"with_mean":true`, 1), "unknown field(s) 'with_mean'"},
		{"unknown enum", strings.Replace(clfDoc, `"sigmoid_binary"`, `"probit"`, 1), "unknown to this scorer"},
		{"wrong type", strings.Replace(clfDoc, `"n_features":4`, `"n_features":"4"`, 1), "must be an integer"},
		{"float for int", strings.Replace(clfDoc, `"n_features":4`, `"n_features":4.0`, 1), "must be an integer"},
		{"string number", strings.Replace(clfDoc, `"intercept":[0.25]`, `"intercept":["0.25"]`, 1), "must be a number"},
		{"short array", strings.Replace(clfDoc, `"intercept":[0.25]`, `"intercept":[0.25,1]`, 1), "must have 1 numbers"},
		{"huge width", strings.Replace(clfDoc, `"width":3`, `"width":1000000000000`, 1), "must be in [0, 1048576]"},
		{"width beyond categories", strings.Replace(strings.Replace(clfDoc, `"width":3`, `"width":900000`, 1),
			`"n_in":1,"n_out":3`, `"n_in":1,"n_out":900000`, 1), "exceeds the number of categories"},
		{"width mismatch", strings.Replace(clfDoc, `"n_in":1,"n_out":3`, `"n_in":1,"n_out":4`, 1), "n_out is 4"},
		{"column index", strings.Replace(clfDoc, `"columns":[1]`, `"columns":[7]`, 1), "column index out of range"},
		{"classes vs proba", strings.Replace(clfDoc, `["no","yes"]`, `["a","b","c"]`, 1), "gives 2 probabilities for 3 classes"},
		{"duplicate inputs", strings.Replace(clfDoc, `"name":"junk"`, `"name":"x"`, 1), "must be unique"},
		{"deep nesting", strings.Repeat("[", 100000) + strings.Repeat("]", 100000), "nested more than"},
		{"bad escape", strings.Replace(clfDoc, `"no"`, `"n\q"`, 1), "invalid escape"},
		{"control char", strings.Replace(clfDoc, `"no"`, "\"n\x01\"", 1), "control character"},
		{"invalid utf8", strings.Replace(clfDoc, `"no"`, "\"n\xff\"", 1), "invalid UTF-8"},
		{"huge integer", strings.Replace(clfDoc, `"n_features":4`, `"n_features":1`+strings.Repeat("0", 400), 1), "too large"},
		{"cycle", mutate(t, treeDoc, func(d map[string]interface{}) {
			firstTree(d)["left"] = []interface{}{1, -1, 0, -1, -1}
		}), "child index must be greater than its parent's"},
		{"self loop", mutate(t, treeDoc, func(d map[string]interface{}) {
			firstTree(d)["right"] = []interface{}{0, -1, 4, -1, -1}
		}), "child index must be greater than its parent's"},
		{"child out of range", mutate(t, treeDoc, func(d map[string]interface{}) {
			firstTree(d)["right"] = []interface{}{2, -1, 99, -1, -1}
		}), "below 5"},
		{"two parents", mutate(t, treeDoc, func(d map[string]interface{}) {
			firstTree(d)["left"] = []interface{}{1, -1, 4, -1, -1}
		}), "exactly one parent"},
		{"unreachable", mutate(t, treeDoc, func(d map[string]interface{}) {
			tr := firstTree(d)
			tr["feature"] = []interface{}{0, -1, -1, -1, -1}
			tr["left"] = []interface{}{1, -1, -1, -1, -1}
			tr["right"] = []interface{}{2, -1, -1, -1, -1}
		}), "exactly one parent"},
		{"one child", mutate(t, treeDoc, func(d map[string]interface{}) {
			firstTree(d)["right"] = []interface{}{2, -1, -1, -1, -1}
		}), "exactly one child"},
		{"feature range", mutate(t, treeDoc, func(d map[string]interface{}) {
			firstTree(d)["feature"] = []interface{}{0, -1, 2, -1, -1}
		}), "feature must be -1 for leaves and in [0, 2)"},
		{"leaf feature", mutate(t, treeDoc, func(d map[string]interface{}) {
			firstTree(d)["feature"] = []interface{}{0, 1, 1, -1, -1}
		}), "feature must be -1 for leaves"},
		{"missing_left", mutate(t, treeDoc, func(d map[string]interface{}) {
			firstTree(d)["missing_left"] = []interface{}{2, 0, 0, 0, 0}
		}), "missing_left must be 0 or 1"},
		{"empty tree", mutate(t, treeDoc, func(d map[string]interface{}) {
			tr := firstTree(d)
			for _, k := range []string{"feature", "threshold", "left", "right", "missing_left", "value"} {
				tr[k] = []interface{}{}
			}
		}), "at least one node"},
		{"value length", mutate(t, treeDoc, func(d map[string]interface{}) {
			firstTree(d)["value"] = []interface{}{0, 1}
		}), "must have 5 numbers"},
		{"target", mutate(t, treeDoc, func(d map[string]interface{}) {
			firstTree(d)["target"] = 1
		}), "exceeds n_outputs"},
		{"unknown tree field", mutate(t, treeDoc, func(d map[string]interface{}) {
			firstTree(d)["impurity"] = []interface{}{0, 0, 0, 0, 0}
		}), "unknown field(s) 'impurity'"},
		{"category without known", strings.Replace(catDoc, `"known_categories":[{"feature":0,"bitset":[15,0,0,0,0,0,0,0]}],`, "", 1),
			"no known_categories entry"},
		{"bitset word", strings.Replace(catDoc, `[5,0,0,0,0,0,0,0]`, `[4294967296,0,0,0,0,0,0,0]`, 1), "unsigned 32-bit"},
		{"bitset length", strings.Replace(catDoc, `[5,0,0,0,0,0,0,0]`, `[5,0,0]`, 1), "must have 8 integers"},
		{"category index", strings.Replace(catDoc, `"category_set":[0,-1,-1]`, `"category_set":[1,-1,-1]`, 1), "bitset index in [0, 1)"},
		{"category alone", strings.Replace(catDoc, `,"bitsets":[[5,0,0,0,0,0,0,0]]`, "", 1), "go together"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := LoadBytes([]byte(c.doc))
			if err == nil {
				t.Fatalf("loaded a malformed document (%v)", m.Columns())
			}
			var de *DocumentError
			if !errors.As(err, &de) {
				t.Fatalf("not a DocumentError: %T %v", err, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q does not contain %q", msg, c.want)
			}
			if strings.Contains(msg, "internal error") || strings.Contains(msg, "\n") {
				t.Errorf("not a clean one-line error: %q", msg)
			}
		})
	}
}

// Every truncation and many random corruptions of valid documents must give
// an error or a model, never a panic (Load recovers, so check the message).
func TestCorruptedDocumentsNeverPanic(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	expression := exprDoc(program(`{"op":"where","args":[{"op":"gt","args":[{"op":"input"},{"op":"const","value":1}]},`+
		`{"op":"pow","args":[{"op":"input"},{"op":"cols","indices":[1,0]}]},{"op":"clip","args":[{"op":"input"}],"lo":0,"hi":null}]}`,
		"float64", 2), 2)
	for _, doc := range []string{clfDoc, treeDoc, catDoc, expression} {
		for i := 0; i < len(doc); i++ {
			if _, err := LoadBytes([]byte(doc[:i])); err == nil {
				t.Fatalf("truncated at %d loaded", i)
			} else if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("truncated at %d: %v", i, err)
			}
		}
		alphabet := []byte(`{}[]",:-0123456789.eE truefalsnul\`)
		for k := 0; k < 3000; k++ {
			b := []byte(doc)
			for j := 0; j < 1+rng.Intn(3); j++ {
				b[rng.Intn(len(b))] = alphabet[rng.Intn(len(alphabet))]
			}
			m, err := LoadBytes(b)
			if err != nil {
				if strings.Contains(err.Error(), "internal error") {
					t.Fatalf("corrupted document %q: %v", b, err)
				}
				continue
			}
			// a document that still loads must score without panicking
			rows := []Row{make(Row, len(m.Inputs())), make(Row, len(m.Inputs()))}
			for i := range rows[0] {
				rows[0][i] = Num(0.5)
			}
			if _, err := m.Predict(rows); err != nil && strings.Contains(err.Error(), "internal error") {
				t.Fatalf("corrupted document %q scores with %v", b, err)
			}
		}
	}
}

func TestMaxDocumentBytes(t *testing.T) {
	saved := MaxDocumentBytes
	defer func() { MaxDocumentBytes = saved }()
	MaxDocumentBytes = 100
	_, err := Load(strings.NewReader(clfDoc))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("got %v", err)
	}
}

func TestNaNStringsAndDuplicateKeys(t *testing.T) {
	// "NaN" / "Infinity" strings are numbers; a repeated key keeps its last value.
	doc := strings.Replace(treeDoc, `"init":[0.5]`, `"init":["Infinity"]`, 1)
	doc = strings.Replace(doc, `"divide":4.0`, `"divide":1.0,"divide":4.0`, 1)
	m := mustLoad(t, doc)
	out, err := m.Predict([]Row{{Num(0), Num(0)}})
	if err != nil || !math.IsInf(out.Value[0], 1) {
		t.Fatalf("got %v %v", out.Value, err)
	}
}

// Classifiers without probabilities (LinearSVC, SGD hinge, RidgeClassifier)
// expose their raw scores as decision values: one column for two classes, one
// per class otherwise.
func TestDecisionValues(t *testing.T) {
	binary := `{"format":"mlexport-json","format_version":1,"task":"classification",
 "inputs":[{"name":"a","kind":"number","used":true},{"name":"b","kind":"number","used":true}],
 "steps":[],
 "model":{"type":"linear","n_features":2,"n_outputs":1,"coef":[[2.0,-1.0]],"intercept":[0.5]},
 "output":{"kind":"classifier","classes":[0,1],"label":{"from":"raw","rule":"threshold","threshold":0.0,"inclusive":false}}}`
	multi := `{"format":"mlexport-json","format_version":1,"task":"classification",
 "inputs":[{"name":"a","kind":"number","used":true},{"name":"b","kind":"number","used":true}],
 "steps":[],
 "model":{"type":"linear","n_features":2,"n_outputs":3,"coef":[[1,0],[0,1],[-1,-1]],"intercept":[0,0.5,1]},
 "output":{"kind":"classifier","classes":["x","y","z"],"label":{"from":"raw","rule":"argmax"}}}`
	rows := []Row{{Num(1), Num(3)}, {Num(-2), Missing}, {Num(0.25), Num(0)}}
	m := mustLoad(t, binary)
	if got := strings.Join(m.Columns(), ","); got != "label,decision" {
		t.Fatalf("columns %s", got)
	}
	out, err := m.Predict(rows)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{-0.5, math.NaN(), 1.0}
	for i, w := range want {
		if d := out.DecisionRow(i); len(d) != 1 || !close(d[0], w) {
			t.Errorf("row %d: decision %v, want %v", i, d, w)
		}
	}
	if out.ProbaRow(0) != nil || out.LabelString(0) != "0" || out.LabelString(2) != "1" {
		t.Errorf("labels %s %s, proba %v", out.LabelString(0), out.LabelString(2), out.ProbaRow(0))
	}
	if rec := strings.Join(out.Record(2, nil), ","); rec != "1,"+FormatFloat(1.0) {
		t.Errorf("record %s", rec)
	}
	m = mustLoad(t, multi)
	if got := strings.Join(m.Columns(), ","); got != "label,decision_x,decision_y,decision_z" {
		t.Fatalf("columns %s", got)
	}
	out, err = m.Predict(rows[:1])
	if err != nil {
		t.Fatal(err)
	}
	if d := out.DecisionRow(0); len(d) != 3 || d[0] != 1 || d[1] != 3.5 || d[2] != -3 {
		t.Errorf("decision %v", d)
	}
	if out.LabelString(0) != "y" {
		t.Errorf("label %s", out.LabelString(0))
	}
}
