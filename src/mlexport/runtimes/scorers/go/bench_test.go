package scorer

import (
	"encoding/json"
	"math/rand"
	"testing"
	"time"
)

// forestDocument generates a random-forest classifier document like the one
// mlexport writes for RandomForestClassifier: float32 input cast, leaves
// holding class probabilities, averaged over the trees.
func forestDocument(nTrees, maxDepth, nFeatures, nClasses int, seed int64) []byte {
	rng := rand.New(rand.NewSource(seed))
	type treeT struct {
		Target      int       `json:"target"`
		Width       int       `json:"width"`
		Feature     []int     `json:"feature"`
		Threshold   []float64 `json:"threshold"`
		Left        []int     `json:"left"`
		Right       []int     `json:"right"`
		MissingLeft []int     `json:"missing_left"`
		Value       []float64 `json:"value"`
	}
	trees := make([]treeT, nTrees)
	for ti := range trees {
		t := &trees[ti]
		t.Width = nClasses
		var grow func(depth int) int
		grow = func(depth int) int {
			id := len(t.Left)
			t.Feature = append(t.Feature, -1)
			t.Threshold = append(t.Threshold, 0)
			t.Left = append(t.Left, -1)
			t.Right = append(t.Right, -1)
			t.MissingLeft = append(t.MissingLeft, rng.Intn(2))
			p := make([]float64, nClasses)
			s := 0.0
			for k := range p {
				p[k] = rng.Float64()
				s += p[k]
			}
			for k := range p {
				p[k] /= s
			}
			t.Value = append(t.Value, p...)
			if depth < maxDepth && (depth < 3 || rng.Float64() < 0.9) {
				t.Feature[id] = rng.Intn(nFeatures)
				t.Threshold[id] = float64(float32(rng.NormFloat64()))
				l := grow(depth + 1)
				r := grow(depth + 1)
				t.Left[id], t.Right[id] = l, r
			}
			return id
		}
		grow(0)
	}
	inputs := make([]map[string]interface{}, nFeatures)
	for j := range inputs {
		inputs[j] = map[string]interface{}{"name": "x" + itoa(j), "kind": "number", "used": true}
	}
	classes := make([]int, nClasses)
	for k := range classes {
		classes[k] = k
	}
	doc := map[string]interface{}{
		"format": "mlexport-json", "format_version": 1, "task": "classification",
		"inputs": inputs, "steps": []interface{}{},
		"model": map[string]interface{}{
			"type": "tree_ensemble", "n_features": nFeatures, "n_outputs": nClasses, "input_cast": "float32",
			"init": make([]float64, nClasses), "tree_scale": 1.0, "divide": float64(nTrees), "trees": trees,
		},
		"output": map[string]interface{}{
			"kind": "classifier", "classes": classes,
			"label": map[string]interface{}{"from": "proba", "rule": "argmax"},
			"proba": map[string]interface{}{"transform": "identity"},
		},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return b
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func randomRows(n, nFeatures int, seed int64) [][]Value {
	rng := rand.New(rand.NewSource(seed))
	cols := make([][]Value, nFeatures)
	for j := range cols {
		cols[j] = make([]Value, n)
		for i := range cols[j] {
			if rng.Float64() < 0.01 {
				cols[j][i] = Missing
			} else {
				cols[j][i] = Num(rng.NormFloat64())
			}
		}
	}
	return cols
}

func TestGeneratedForest(t *testing.T) {
	doc := forestDocument(5, 6, 8, 3, 7)
	m := mustLoad(t, string(doc))
	out, err := m.PredictColumns(randomRows(100, 8, 1))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < out.N; i++ {
		p := out.ProbaRow(i)
		if s := p[0] + p[1] + p[2]; s < 1-1e-12 || s > 1+1e-12 {
			t.Fatalf("row %d: probabilities sum to %v", i, s)
		}
		if out.Label[i] != argmax(p) {
			t.Fatalf("row %d: label is not the argmax", i)
		}
	}
}

// BenchmarkForest: 100 trees of depth <= 10 over 30 features, one thread.
func BenchmarkForest(b *testing.B) {
	doc := forestDocument(100, 10, 30, 2, 1)
	t0 := time.Now()
	m, err := LoadBytes(doc)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("document %.1f MB, loaded in %v", float64(len(doc))/1e6, time.Since(t0))
	const n = 20000
	cols := randomRows(n, 30, 2)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := m.PredictColumns(cols); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "rows/s")
}

func BenchmarkForestLoad(b *testing.B) {
	doc := forestDocument(100, 10, 30, 2, 1)
	b.SetBytes(int64(len(doc)))
	for i := 0; i < b.N; i++ {
		if _, err := LoadBytes(doc); err != nil {
			b.Fatal(err)
		}
	}
}
