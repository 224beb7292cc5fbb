# tests/security: TLS (verify-full, a test CA, a wrong-name certificate) and
# password handling against a real PostgreSQL cluster.
add_test(NAME security.tls_and_password
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/tls_password_test.sh ${CMAKE_BINARY_DIR})
set_tests_properties(security.tls_and_password PROPERTIES LABELS pg TIMEOUT 300)
