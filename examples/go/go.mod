module example.com/churn-service

go 1.19

require mlexport.dev/scorer v0.0.0-00010101000000-000000000000

// The scorer package as shipped with mlexport. In your service, point this at
// your vendored copy (see README.md), e.g. => ./third_party/mlexport-scorer
replace mlexport.dev/scorer => ../../src/mlexport/runtimes/scorers/go
