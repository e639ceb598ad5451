export { closeMonth, planMonthClose, monthlyMinimum, NUMBER_RENT_PER_MONTH, type CloseMonthInputs, type TenantNumbers,
  type Package400, type PlannedCharge, type AppliedCharge } from './close-month.js';
export { deductComplaint, COMPLAINT_DEDUCTION, type Complaint, type ComplaintResult } from './complaint.js';
