# server unit tests
