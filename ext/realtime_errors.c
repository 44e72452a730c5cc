#include "realtime_errors.h"

#include <Zend/zend_exceptions.h>
#include <ext/spl/spl_exceptions.h>
#include <main/php_globals.h>
#include <main/php_variables.h>

void realtime_throw_value_error(const char *message) { zend_value_error("%s", message); }

void realtime_throw_type_error(const char *message) { zend_type_error("%s", message); }

void realtime_throw_runtime_exception(const char *message) {
	zend_throw_exception(spl_ce_RuntimeException, message, 0);
}

int realtime_user_id(zval *value, const char **str, size_t *len, zend_long *num) {
	ZVAL_DEREF(value);
	switch (Z_TYPE_P(value)) {
	case IS_STRING:
		*str = Z_STRVAL_P(value);
		*len = Z_STRLEN_P(value);
		return REALTIME_USER_ID_STRING;
	case IS_LONG:
		*num = Z_LVAL_P(value);
		return REALTIME_USER_ID_LONG;
	default:
		return REALTIME_USER_ID_OTHER;
	}
}

const char *realtime_type_name(zval *value) {
	ZVAL_DEREF(value);
	return zend_zval_value_name(value);
}

int realtime_string_list(zval *value, const char **out, size_t *lens, int max, const char **bad_type) {
	ZVAL_DEREF(value);
	if (Z_TYPE_P(value) == IS_STRING) {
		out[0] = Z_STRVAL_P(value);
		lens[0] = Z_STRLEN_P(value);
		return 1;
	}
	if (Z_TYPE_P(value) != IS_ARRAY) {
		*bad_type = zend_zval_value_name(value);
		return -1;
	}
	int n = 0;
	zval *item;
	ZEND_HASH_FOREACH_VAL(Z_ARRVAL_P(value), item) {
		ZVAL_DEREF(item);
		if (Z_TYPE_P(item) != IS_STRING) {
			*bad_type = zend_zval_value_name(item);
			return -1;
		}
		if (n == max) {
			return -2;
		}
		out[n] = Z_STRVAL_P(item);
		lens[n] = Z_STRLEN_P(item);
		n++;
	} ZEND_HASH_FOREACH_END();
	return n;
}

const char *realtime_server_var(const char *name, size_t *len) {
	/* $_SERVER is filled on first use (auto_globals_jit). */
	zend_is_auto_global_str(ZEND_STRL("_SERVER"));
	zval *server = &PG(http_globals)[TRACK_VARS_SERVER];
	if (Z_TYPE_P(server) != IS_ARRAY) {
		return NULL;
	}
	zval *v = zend_hash_str_find(Z_ARRVAL_P(server), name, strlen(name));
	if (v == NULL) {
		return NULL;
	}
	ZVAL_DEREF(v);
	if (Z_TYPE_P(v) != IS_STRING) {
		return NULL;
	}
	*len = Z_STRLEN_P(v);
	return Z_STRVAL_P(v);
}

int realtime_optional_string(zval *value, const char **str, size_t *len) {
	ZVAL_DEREF(value);
	switch (Z_TYPE_P(value)) {
	case IS_NULL:
		return 0;
	case IS_STRING:
		*str = Z_STRVAL_P(value);
		*len = Z_STRLEN_P(value);
		return 1;
	default:
		return -1;
	}
}
