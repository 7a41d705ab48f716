module mlexport.dev/scorer

go 1.19
