//! `statusCode` values shared by every GWS method (ReturnValues page, 8.6.0).

pub const SUCCESS: i64 = 0;
pub const MISSING_PARAMETER: i64 = 1;
pub const INVALID_STATE: i64 = 2;
pub const FORBIDDEN: i64 = 3;
pub const INTERNAL_ERROR: i64 = 4;
pub const NO_PERMISSION: i64 = 5;
pub const NOT_FOUND: i64 = 6;
pub const PARTIAL_SUCCESS: i64 = 7;
pub const PASSWORD_CHANGE_REQUIRED: i64 = 8;
pub const PROCESSING_INCOMPLETE: i64 = 9;
pub const VALIDATION_ERROR: i64 = 10;
pub const READ_ONLY: i64 = 11;
pub const UNABLE_TO_RETRIEVE: i64 = 12;
pub const UNABLE_TO_CREATE: i64 = 13;
pub const UNABLE_TO_DELETE: i64 = 14;
pub const UNABLE_TO_UPDATE: i64 = 15;
pub const UNABLE_TO_ASSIGN: i64 = 16;
pub const UNABLE_TO_UNASSIGN: i64 = 17;
pub const ALREADY_EXISTS: i64 = 18;
pub const ALREADY_IN_USE: i64 = 19;
pub const NOT_AUTHENTICATED: i64 = 20;

/// The highest documented code.
pub const MAX_DOCUMENTED: i64 = NOT_AUTHENTICATED;

/// One-line meaning of a documented code, for messages and reports.
pub fn describe(code: i64) -> Option<&'static str> {
    Some(match code {
        SUCCESS => "success",
        MISSING_PARAMETER => "a required parameter is missing",
        INVALID_STATE => "a parameter is not valid for the current state",
        FORBIDDEN => "operation forbidden",
        INTERNAL_ERROR => "internal error",
        NO_PERMISSION => "the user lacks permission",
        NOT_FOUND => "resource not found",
        PARTIAL_SUCCESS => "partial success",
        PASSWORD_CHANGE_REQUIRED => "password change demanded",
        PROCESSING_INCOMPLETE => "processing incomplete",
        VALIDATION_ERROR => "input validation error",
        READ_ONLY => "attempt to change a read-only property",
        UNABLE_TO_RETRIEVE => "unable to retrieve resource",
        UNABLE_TO_CREATE => "unable to create resource",
        UNABLE_TO_DELETE => "unable to delete resource",
        UNABLE_TO_UPDATE => "unable to update resource",
        UNABLE_TO_ASSIGN => "unable to assign",
        UNABLE_TO_UNASSIGN => "unable to unassign",
        ALREADY_EXISTS => "resource already exists",
        ALREADY_IN_USE => "resource already in use",
        NOT_AUTHENTICATED => "user not authenticated",
        _ => return None,
    })
}
