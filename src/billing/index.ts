export { closeMonth, planMonthClose, monthlyMinimum, NUMBER_RENT_PER_MONTH, type CloseMonthInputs, type TenantNumbers,
  type Package400, type PlannedCharge, type AppliedCharge } from './close-month.js';
export { deductComplaint, COMPLAINT_DEDUCTION, type Complaint, type ComplaintResult } from './complaint.js';
export { planArrearsDay, lateFeeOf, arrearsDay, LATE_FEE_PER_MILLE, CLOSE_AFTER_DAYS, type ArrearsState, type DayPlan } from './arrears.js';
export { closeDay, endOfDay, DayNotOverError, type DayAccount, type DayOutcome } from './close-day.js';
export { buildStatement, buildAccountStatement, addCdr, arrearsDelta, type Statement, type StatementSource, type AccountStatement, type AccountSource, type StatementLine, type CallTotals } from './statement.js';
export { readStatementSource, readAccountMonth, tenantAccounts, monthRange, StatementInputError } from './statement-source.js';
export { statementCsv, statementHtml, statementText } from './statement-render.js';
