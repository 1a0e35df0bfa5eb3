import type { FastifyReply } from 'fastify';

/** An RFC 9457 problem document with Catena's stable `code` (and, for refused links, the failing `check`). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  check?: string;
}

const TITLE: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export function problem(status: number, code: string, detail: string, check?: string): Problem {
  return {
    type: `https://catena.invalid/problems/${code.toLowerCase().replace(/^err_/, '').replace(/_/g, '-')}`,
    title: TITLE[status] ?? 'Error',
    status,
    detail,
    code,
    ...(check ? { check } : {}),
  };
}

export function sendProblem(
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string,
  check?: string,
): FastifyReply {
  return reply
    .code(status)
    .type('application/problem+json')
    .send(JSON.stringify(problem(status, code, detail, check)));
}
