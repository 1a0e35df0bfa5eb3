export * from './attributes.ts';
export * from './report.ts';
export * from './targetinfo.ts';
export * from './keyrequest.ts';
