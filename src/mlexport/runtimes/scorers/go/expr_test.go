package scorer

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// exprDoc wraps an expression program over 2 inputs into a regressor whose
// features are the program's output (checked through FeaturesColumns).
func exprDoc(program string, nOut int) string {
	coef := strings.TrimSuffix(strings.Repeat("0,", nOut), ",")
	return `{"format":"mlexport-json","format_version":1,"task":"regression",
 "inputs":[{"name":"a","kind":"number","used":true},{"name":"b","kind":"number","used":true}],
 "steps":[{"type":"expression","path":"f","class":"FunctionTransformer","n_in":2,"n_out":` + itoa(nOut) + `,
   "program":` + program + `}],
 "model":{"type":"linear","n_features":` + itoa(nOut) + `,"n_outputs":1,"coef":[[` + coef + `]],"intercept":[0]},
 "output":{"kind":"regressor","transform":"identity","squeeze":true}}`
}

func program(output, dtype string, nOut int) string {
	return `{"format":"mlexport.expr","version":1,"function":"f","origin":"source","n_features_in":2,
   "n_features_out":` + itoa(nOut) + `,"dtype":"` + dtype + `","frozen":{"AGE":18},"output":` + output + `}`
}

func features(t *testing.T, doc string, a, b []float64) []float64 {
	t.Helper()
	m := mustLoad(t, doc)
	cols := [][]Value{make([]Value, len(a)), make([]Value, len(b))}
	for i := range a {
		cols[0][i], cols[1][i] = Num(a[i]), Num(b[i])
	}
	X, err := m.FeaturesColumns(cols)
	if err != nil {
		t.Fatal(err)
	}
	return X
}

func same(a, b float64) bool { return a == b || (a != a && b != b) }

func TestExpressionWhereLog1p(t *testing.T) {
	// np.where(x > 18, np.log1p(x), -x), then booleans (x[:, [0]] > 3) added as numbers
	out := `{"op":"add","args":[
	   {"op":"where","args":[{"op":"gt","args":[{"op":"input"},{"op":"const","value":18.0}]},
	                         {"op":"log1p","args":[{"op":"input"}]},{"op":"neg","args":[{"op":"input"}]}]},
	   {"op":"to_float","args":[{"op":"gt","args":[{"op":"cols","indices":[0]},{"op":"const","value":3}]}]}]}`
	nan := math.NaN()
	a := []float64{20, 1, nan, 4}
	b := []float64{0, 30, 5, math.Inf(1)}
	X := features(t, exprDoc(program(out, "float64", 2), 2), a, b)
	want := []float64{math.Log1p(20) + 1, 0 + 1, -1, math.Log1p(30), nan, -5, -4 + 1, math.Inf(1) + 1}
	for i := range want {
		if !same(X[i], want[i]) {
			t.Errorf("cell %d: got %v, want %v", i, X[i], want[i])
		}
	}
}

func TestExpressionBoolOutputAndConcat(t *testing.T) {
	out := `{"op":"concat","args":[{"op":"isnan","args":[{"op":"col","index":1}]},
	   {"op":"and","args":[{"op":"le","args":[{"op":"col","index":0},{"op":"col","index":1}]},{"op":"const","value":true}]},
	   {"op":"ne","args":[{"op":"col","index":0},{"op":"col","index":0}]}]}`
	X := features(t, exprDoc(program(out, "bool", 3), 3), []float64{1, math.NaN()}, []float64{math.NaN(), 2})
	want := []float64{1, 0, 0, 0, 0, 1}
	for i := range want {
		if X[i] != want[i] {
			t.Errorf("cell %d: got %v, want %v", i, X[i], want[i])
		}
	}
}

func TestExpressionNumpyCorners(t *testing.T) {
	cases := []struct {
		op   string
		a, b float64
		want float64
	}{
		{"mod", 3, -math.Inf(1), math.Inf(-1)}, {"mod", -3, 2, 1}, {"mod", 3, 0, math.NaN()}, {"mod", 0, -2, math.Copysign(0, -1)},
		{"fmod", -3, 2, -1}, {"min", math.NaN(), 1, math.NaN()}, {"min", 1, math.NaN(), math.NaN()},
		{"fmin", math.NaN(), 1, 1}, {"fmax", 1, math.NaN(), 1}, {"pow", -8, 1.0 / 3, math.NaN()},
		{"pow", math.Inf(-1), 0.5, math.Inf(1)}, // an array exponent: C pow
		{"div", 1, 0, math.Inf(1)}, {"div", 0, 0, math.NaN()},
	}
	for _, c := range cases {
		out := `{"op":"concat","args":[{"op":"` + c.op + `","args":[{"op":"col","index":0},{"op":"col","index":1}]}]}`
		X := features(t, exprDoc(program(out, "float64", 1), 1), []float64{c.a}, []float64{c.b})
		if !same(X[0], c.want) || (c.want == c.want && math.Signbit(X[0]) != math.Signbit(c.want)) {
			t.Errorf("%s(%v, %v) = %v, want %v", c.op, c.a, c.b, X[0], c.want)
		}
	}
	// a scalar exponent of 0.5 is numpy's sqrt fast path
	out := `{"op":"pow","args":[{"op":"input"},{"op":"const","value":0.5}]}`
	X := features(t, exprDoc(program(out, "float64", 2), 2), []float64{math.Inf(-1)}, []float64{math.Copysign(0, -1)})
	if !math.IsNaN(X[0]) || X[1] != 0 || !math.Signbit(X[1]) {
		t.Errorf("pow(x, scalar 0.5): got %v", X)
	}
	for _, c := range []struct {
		op      string
		x, want float64
	}{{"sign", math.Copysign(0, -1), 0}, {"sign", math.NaN(), math.NaN()}, {"round", -0.5, math.Copysign(0, -1)},
		{"round", 2.5, 2}, {"log", 5e-324, -744.4400719213812}, {"exp", 709.7, 1.6549840276802644e+308},
		{"log10", 0.001, -3}, {"reciprocal", 0, math.Inf(1)}, {"square", -3, 9}} {
		out := `{"op":"concat","args":[{"op":"` + c.op + `","args":[{"op":"col","index":0}]}]}`
		X := features(t, exprDoc(program(out, "float64", 1), 1), []float64{c.x}, []float64{0})
		if !same(X[0], c.want) && math.Abs(X[0]-c.want) > 1e-15*math.Abs(c.want) {
			t.Errorf("%s(%v) = %v, want %v", c.op, c.x, X[0], c.want)
		}
	}
	// clip: lo > hi gives hi, NaN stays NaN, a null bound is no bound
	out = `{"op":"clip","args":[{"op":"input"}],"lo":2,"hi":1}`
	X = features(t, exprDoc(program(out, "float64", 2), 2), []float64{math.NaN()}, []float64{-5})
	if !math.IsNaN(X[0]) || X[1] != 1 {
		t.Errorf("clip: got %v", X)
	}
	out = `{"op":"clip","args":[{"op":"input"}],"lo":null,"hi":0}`
	X = features(t, exprDoc(program(out, "float64", 2), 2), []float64{-7}, []float64{7})
	if X[0] != -7 || X[1] != 0 {
		t.Errorf("clip with a null bound: got %v", X)
	}
}

func TestMalformedExpressions(t *testing.T) {
	ok := `{"op":"log1p","args":[{"op":"input"}]}`
	cases := []struct{ name, doc, want string }{
		{"unknown op", exprDoc(program(`{"op":"erf","args":[{"op":"input"}]}`, "float64", 2), 2), "unknown expression operator 'erf'"},
		{"arity", exprDoc(program(`{"op":"add","args":[{"op":"input"}]}`, "float64", 2), 2), "takes 2 argument(s)"},
		{"dtype", exprDoc(program(`{"op":"add","args":[{"op":"input"},{"op":"const","value":true}]}`, "float64", 2), 2),
			"add needs float64 operands, got bool"},
		{"rank mix", exprDoc(program(`{"op":"add","args":[{"op":"input"},{"op":"col","index":0}]}`, "float64", 2), 2),
			"a rank-1 column meets a rank-2 matrix"},
		{"widths", exprDoc(program(`{"op":"add","args":[{"op":"input"},{"op":"cols","indices":[0,1,0]}]}`, "float64", 2), 2),
			"do not broadcast"},
		{"rank 1 output", exprDoc(program(`{"op":"col","index":0}`, "float64", 1), 1), "output must be rank 2"},
		{"column range", exprDoc(program(`{"op":"concat","args":[{"op":"col","index":2}]}`, "float64", 1), 1), "out of range"},
		{"declared width", exprDoc(program(ok, "float64", 3), 3), "n_features_out must be 2"},
		{"declared dtype", exprDoc(program(ok, "bool", 2), 2), "dtype must be float64"},
		{"version", exprDoc(strings.Replace(program(ok, "float64", 2), `"version":1`, `"version":2`, 1), 2),
			"mlexport.expr version 2 is not supported"},
		{"unknown node field", exprDoc(program(`{"op":"log1p","args":[{"op":"input"}],"base":10}`, "float64", 2), 2),
			"unknown field(s) 'base'"},
		{"unknown program field", exprDoc(strings.Replace(program(ok, "float64", 2), `"frozen"`, `"lazy":1,"frozen"`, 1), 2),
			"unknown field(s) 'lazy'"},
		{"nan clip bound", exprDoc(program(`{"op":"clip","args":[{"op":"input"}],"lo":"NaN","hi":null}`, "float64", 2), 2),
			"clip bound nan"},
		{"step width", strings.Replace(exprDoc(program(ok, "float64", 2), 2), `"n_in":2,`, `"n_in":1,`, 1), "program maps 2 -> 2 columns, the step says 1 -> 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadBytes([]byte(c.doc))
			var de *DocumentError
			if !errors.As(err, &de) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a DocumentError with %q", err, c.want)
			}
		})
	}
}
