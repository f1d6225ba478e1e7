package server

// LeavesOrigin is leavesOrigin for the fuzz targets of package server_test.
var LeavesOrigin = leavesOrigin

// OpenAPIJSON is the OpenAPI document s serves, for the validation of
// every test's exchanges (openapi_validate_test.go).
func OpenAPIJSON(s *Server) []byte {
	docs, err := s.apiDocs()
	if err != nil {
		panic(err)
	}
	return docs.json
}
