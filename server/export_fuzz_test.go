package server

// LeavesOrigin is leavesOrigin for the fuzz targets of package server_test.
var LeavesOrigin = leavesOrigin
