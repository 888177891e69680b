import { printSchema } from "graphql";
import { buildHeraldSchema } from "../graphql/register-graphql.js";
import { parseCommandArgs } from "./cli-command.js";

const HELP = `usage: npx herald schema

Prints the GraphQL schema of /graphql (SDL), with every type's and field's description: for client
code generators, and for reading the API without a running herald. docs/schema.graphql is this output.

options:
  --help  this text
`;

export async function runSchema(args: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs(args, { help: { type: "boolean", default: false } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  process.stdout.write(`${printSchema(await buildHeraldSchema())}\n`);
  return 0;
}
