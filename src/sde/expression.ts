import * as tf from '@tensorflow/tfjs';
import type { MathNode } from 'mathjs';
import { createRequire } from 'node:module';
import { UsageError } from '../errors.js';

/** The arithmetic a compiled expression needs, for host numbers or for tensors. */
interface Algebra<V> {
  constant(c: number): V;
  binary(op: BinaryOp, a: V, b: V): V;
  unary(fn: UnaryFn, a: V): V;
}

type BinaryOp = 'add' | 'subtract' | 'multiply' | 'divide' | 'pow';
const UNARY_FUNCTIONS = ['exp', 'log', 'sqrt', 'sin', 'cos', 'tan', 'tanh', 'sinh', 'cosh', 'abs', 'atan', 'sigmoid'] as const;
type UnaryFn = (typeof UNARY_FUNCTIONS)[number] | 'unaryMinus';
const BINARY_OPS: readonly BinaryOp[] = ['add', 'subtract', 'multiply', 'divide', 'pow'];
const CONSTANTS: Record<string, number> = { pi: Math.PI, e: Math.E };

/** mathjs's parser, loaded on first use: the library takes about a second to load and most runs never need it. */
function mathjsParse(source: string): MathNode {
  const mathjs = createRequire(import.meta.url)('mathjs') as typeof import('mathjs');
  return mathjs.parse(source);
}

const hostAlgebra: Algebra<number> = {
  constant: (c) => c,
  binary(op, a, b) {
    switch (op) {
      case 'add': return a + b;
      case 'subtract': return a - b;
      case 'multiply': return a * b;
      case 'divide': return a / b;
      case 'pow': return Math.pow(a, b);
    }
  },
  unary(fn, a) {
    switch (fn) {
      case 'unaryMinus': return -a;
      case 'sigmoid': return 1 / (1 + Math.exp(-a));
      default: return Math[fn](a);
    }
  },
};

const tensorAlgebra: Algebra<tf.Tensor> = {
  constant: (c) => tf.scalar(c),
  binary(op, a, b) {
    switch (op) {
      case 'add': return tf.add(a, b);
      case 'subtract': return tf.sub(a, b);
      case 'multiply': return tf.mul(a, b);
      case 'divide': return tf.div(a, b);
      case 'pow': return tf.pow(a, b);
    }
  },
  unary(fn, a) {
    switch (fn) {
      case 'unaryMinus': return tf.neg(a);
      default: return tf[fn](a);
    }
  },
};

type Compiled<V> = (t: V, algebra: Algebra<V>) => V;

/** Turns a mathjs syntax tree in the variable t into a function over any Algebra. */
function compileNode(node: MathNode, source: string, flag: string): Compiled<any> {
  const fail = (what: string): never => {
    throw new UsageError(`${flag}: ${what} in '${source}'; expected an expression in t using + - * / ^, numbers, pi, e and ${UNARY_FUNCTIONS.join(', ')}`);
  };
  const n = node as MathNode & Record<string, any>;
  switch (n.type) {
    case 'ConstantNode': {
      const value = Number(n.value);
      if (!Number.isFinite(value)) fail(`constant '${String(n.value)}' is not a finite number`);
      return (_t, alg) => alg.constant(value);
    }
    case 'SymbolNode': {
      if (n.name === 't') return (t) => t;
      const c = CONSTANTS[n.name as string];
      if (c === undefined) fail(`unknown symbol '${n.name}'`);
      return (_t, alg) => alg.constant(c);
    }
    case 'ParenthesisNode':
      return compileNode(n.content, source, flag);
    case 'OperatorNode': {
      const args = (n.args as MathNode[]).map((a) => compileNode(a, source, flag));
      if (n.fn === 'unaryPlus' && args.length === 1) return args[0];
      if (n.fn === 'unaryMinus' && args.length === 1) return (t, alg) => alg.unary('unaryMinus', args[0](t, alg));
      if ((BINARY_OPS as readonly string[]).includes(n.fn) && args.length === 2) {
        const op = n.fn as BinaryOp;
        return (t, alg) => alg.binary(op, args[0](t, alg), args[1](t, alg));
      }
      return fail(`unsupported operator '${n.op}'`);
    }
    case 'FunctionNode': {
      const name = n.fn?.name as string;
      if (!(UNARY_FUNCTIONS as readonly string[]).includes(name)) fail(`unsupported function '${name}'`);
      if (n.args.length !== 1) fail(`function '${name}' takes one argument`);
      const arg = compileNode(n.args[0], source, flag);
      return (t, alg) => alg.unary(name as UnaryFn, arg(t, alg));
    }
    default:
      return fail(`unsupported syntax '${n.type}'`);
  }
}

/** A user expression f(t), evaluable in float64 on the host and elementwise on tensors. */
export interface Expression {
  readonly source: string;
  host(t: number): number;
  tensor(t: tf.Tensor): tf.Tensor;
}

/**
 * Parses an expression in t (e.g. "0.1 + 19.9*t") with mathjs. Only t, numbers, pi, e, the
 * four operations, ^ and a few elementary functions are allowed; anything else is a UsageError
 * naming `flag`.
 */
export function parseExpression(source: string, flag: string): Expression {
  let tree: MathNode;
  try {
    tree = mathjsParse(source);
  } catch (e) {
    throw new UsageError(`${flag}: cannot parse '${source}': ${(e as Error).message}`);
  }
  const compiled = compileNode(tree, source, flag);
  return {
    source,
    host: (t: number) => compiled(t, hostAlgebra) as number,
    // broadcastTo: a constant expression (e.g. "1") still gives one value per element of t, and
    // the result is never t itself, so disposing it cannot dispose the caller's t.
    tensor: (t: tf.Tensor) => tf.tidy(() => tf.broadcastTo(compiled(t, tensorAlgebra) as tf.Tensor, t.shape)),
  };
}
