#include "realtime_errors.h"

#include <Zend/zend_exceptions.h>
#include <ext/spl/spl_exceptions.h>

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
