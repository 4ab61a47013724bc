export { type Fault, FaultPlan, type FaultRule, type LoggedRequest, redactHeaders } from './faults';
export { type EmulatorRequest, type EmulatorResponse, HttpEmulator } from './http-emulator';
