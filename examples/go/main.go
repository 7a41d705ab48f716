// Command churn-service serves predictions of an mlexport JSON document.
//
//	mlexport json examples/churn/model.joblib -o churn.json
//	go run . -model churn.json                # POST /predict on :8080
//	go run . -model churn.json -request '{"rows":[{"tenure_months":7,"contract":"monthly"}]}'
//
// The model is loaded (and fully validated) once at start-up; each request
// scores its rows with the same immutable *scorer.Model, concurrently.
//
// Request:  {"rows": [{"<input>": number | string | null, ...}, ...]}
// (an absent input or null is a missing value)
// Response: {"columns": ["label", "proba_0", "proba_1"],
//
//	"predictions": [{"label": "1", "proba": {"0": 0.31, "1": 0.69}}, ...]}
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"time"

	"mlexport.dev/scorer"
)

type request struct {
	Rows []map[string]interface{} `json:"rows"`
}

type prediction struct {
	Label string             `json:"label,omitempty"`
	Proba map[string]float64 `json:"proba,omitempty"`
	// Decision: classifiers without probabilities (LinearSVC, SGD hinge):
	// one value for two classes, else one per class in Classes() order
	Decision []float64 `json:"decision,omitempty"`
	Value    []float64 `json:"value,omitempty"`
}

type response struct {
	Columns     []string     `json:"columns"`
	Predictions []prediction `json:"predictions"`
}

// service holds the model loaded once at start-up.
type service struct {
	model *scorer.Model
}

func loadModel(path string) (*scorer.Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return scorer.Load(f)
}

// rows turns JSON records into scorer rows, in the model's input order.
func (s *service) rows(req request) ([]scorer.Row, error) {
	inputs := s.model.Inputs()
	out := make([]scorer.Row, len(req.Rows))
	for i, rec := range req.Rows {
		row := make(scorer.Row, len(inputs))
		for j, in := range inputs {
			switch v := rec[in.Name].(type) {
			case nil:
				row[j] = scorer.Missing
			case float64:
				row[j] = scorer.Num(v)
			case string:
				if in.Kind == scorer.KindNumber {
					return nil, &scorer.InputError{Msg: fmt.Sprintf("row %d: %q must be a number", i, in.Name)}
				}
				row[j] = scorer.Str(v)
			default:
				return nil, &scorer.InputError{Msg: fmt.Sprintf("row %d: %q must be a number, a string or null", i, in.Name)}
			}
		}
		out[i] = row
	}
	return out, nil
}

func (s *service) score(req request) (*response, error) {
	rows, err := s.rows(req)
	if err != nil {
		return nil, err
	}
	out, err := s.model.Predict(rows)
	if err != nil {
		return nil, err
	}
	resp := &response{Columns: out.Columns(), Predictions: make([]prediction, out.N)}
	for i := 0; i < out.N; i++ {
		var p prediction
		if out.Task == scorer.Classification {
			p.Label = out.LabelString(i)
			if probs := out.ProbaRow(i); probs != nil {
				p.Proba = make(map[string]float64, len(probs))
				for k, c := range out.Classes {
					p.Proba[c.String()] = probs[k]
				}
			}
			p.Decision = out.DecisionRow(i)
		} else {
			p.Value = out.ValueRow(i)
		}
		resp.Predictions[i] = p
	}
	return resp, nil
}

func (s *service) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST a JSON body {\"rows\": [...]}", http.StatusMethodNotAllowed)
		return
	}
	var req request
	if err := json.NewDecoder(io.LimitReader(r.Body, 32<<20)).Decode(&req); err != nil {
		http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	resp, err := s.score(req)
	if err != nil {
		status := http.StatusInternalServerError
		var ie *scorer.InputError
		if errors.As(err, &ie) { // rows the model cannot score: the caller's problem
			status = http.StatusBadRequest
		}
		http.Error(w, err.Error(), status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

func main() {
	modelPath := flag.String("model", "model.json", "mlexport JSON document")
	addr := flag.String("addr", ":8080", "listen address")
	once := flag.String("request", "", "score this JSON request, print the response and exit")
	flag.Parse()

	model, err := loadModel(*modelPath)
	if err != nil {
		log.Fatalf("%s: %v", *modelPath, err)
	}
	s := &service{model: model}
	if *once != "" {
		var req request
		if err := json.Unmarshal([]byte(*once), &req); err != nil {
			log.Fatalf("bad request: %v", err)
		}
		resp, err := s.score(req)
		if err != nil {
			log.Fatal(err)
		}
		_ = json.NewEncoder(os.Stdout).Encode(resp)
		return
	}
	http.HandleFunc("/predict", s.handle)
	log.Printf("serving %s (%s, inputs %d) on %s", *modelPath, model.Task(), len(model.Inputs()), *addr)
	srv := &http.Server{Addr: *addr, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
