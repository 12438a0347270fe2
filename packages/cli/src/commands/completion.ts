/**
 * `completion bash|zsh`: a completion script generated from the command tree
 * itself, so it can never drift from the commands and options that exist.
 * Profile names complete for `use` and `config`, read from the profile file.
 */
import type { Command, Option } from 'commander';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { example } from './help.js';

interface Node {
  name: string;
  description: string;
  options: string[];
  subcommands: Node[];
}

function longFlags(options: readonly Option[]): string[] {
  return options.map((o) => o.long).filter((f): f is string => typeof f === 'string');
}

function tree(cmd: Command): Node {
  return {
    name: cmd.name(),
    description: cmd.description(),
    options: [...longFlags(cmd.options), '--help'],
    subcommands: cmd.commands.filter((c) => c.name() !== 'help').map(tree),
  };
}

/** The profile names, listed by the CLI itself so the script needs no JSON parser. */
const PROFILES = 'hydra-cli completion --profiles 2>/dev/null';

/** Options every command accepts: the root's, less --version (the root's alone) and --help (each node lists its own). */
function globalFlags(root: Node): string {
  return root.options.filter((f) => f !== '--version' && f !== '--help').join(' ');
}

export function bashScript(root: Node): string {
  const globals = globalFlags(root);
  const cases = root.subcommands
    .map((c) => {
      const subs = c.subcommands.map((s) => s.name).join(' ');
      const subCases = c.subcommands.map((s) => `        ${s.name}) words_="${s.options.join(' ')} ${globals}" ;;`).join('\n');
      const dynamic = c.name === 'use' ? ` $(${PROFILES})` : c.name === 'config' ? ` list $(${PROFILES})` : '';
      if (!subs) return `    ${c.name}) words_="${c.options.join(' ')} ${globals}${dynamic}" ;;`;
      return [
        `    ${c.name})`,
        `      if [ "$COMP_CWORD" -eq 2 ]; then words_="${subs} --help"; else`,
        '      case "${COMP_WORDS[2]}" in',
        subCases,
        '      esac; fi ;;',
      ].join('\n');
    })
    .join('\n');
  return `# bash completion for hydra-cli. Load it with:
#   source <(hydra-cli completion bash)
# or save it to /etc/bash_completion.d/hydra-cli
_hydra_cli() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" words_=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    words_="${root.subcommands.map((c) => c.name).join(' ')} ${globals}"
  else
    case "\${COMP_WORDS[1]}" in
${cases}
    esac
  fi
  COMPREPLY=( $(compgen -W "$words_" -- "$cur") )
}
# -o default: file names (config and message files) complete as usual.
complete -o default -F _hydra_cli hydra-cli
`;
}

/** zsh `_describe` entries: `name:description`, with colons in the description escaped. */
function describe(nodes: Node[]): string {
  return nodes.map((n) => `'${n.name}:${n.description.replace(/'/g, `'\\''`).replace(/:/g, '\\:')}'`).join(' ');
}

export function zshScript(root: Node): string {
  const globals = globalFlags(root);
  const cases = root.subcommands
    .map((c) => {
      const dynamic = c.name === 'use' ? `; compadd -- \${(f)"$(${PROFILES})"}` : c.name === 'config' ? `; compadd -- list \${(f)"$(${PROFILES})"}` : '';
      if (c.subcommands.length === 0) return `    ${c.name}) compadd -- ${c.options.join(' ')} ${globals}${dynamic}; _files ;;`;
      const subCases = c.subcommands.map((s) => `        ${s.name}) compadd -- ${s.options.join(' ')} ${globals}; _files ;;`).join('\n');
      return [
        `    ${c.name})`,
        `      if (( CURRENT == 3 )); then subcommands=(${describe(c.subcommands)}); _describe 'subcommand' subcommands; return; fi`,
        '      case $words[3] in',
        subCases,
        '      esac ;;',
      ].join('\n');
    })
    .join('\n');
  return `#compdef hydra-cli
# zsh completion for hydra-cli. Load it with:
#   source <(hydra-cli completion zsh)
# or save it as _hydra-cli in a directory of your $fpath
_hydra_cli() {
  local -a commands subcommands
  commands=(${describe(root.subcommands)})
  if (( CURRENT == 2 )); then _describe 'command' commands; compadd -- ${root.options.join(' ')}; return; fi
  case $words[2] in
${cases}
  esac
}
if [ "$funcstack[1]" = "_hydra_cli" ]; then _hydra_cli "$@"; else compdef _hydra_cli hydra-cli; fi
`;
}

export function registerCompletionCommand(program: Command, ctx: Context): void {
  program
    .command('completion')
    .argument('[shell]', 'bash or zsh')
    .option('--profiles', 'print the saved profile names, one per line (used by the scripts)')
    .description('print a shell completion script')
    .addHelpText('after', example('source <(hydra-cli completion bash)      # in ~/.bashrc', 'source <(hydra-cli completion zsh)       # in ~/.zshrc'))
    .action((shell: string | undefined, opts: { profiles?: boolean }) => {
      if (opts.profiles) {
        const names = Object.keys(ctx.store.profiles());
        ctx.io.stdout.write(names.length ? `${names.join('\n')}\n` : '');
        return;
      }
      const root = tree(program);
      if (shell === 'bash') ctx.io.stdout.write(bashScript(root));
      else if (shell === 'zsh') ctx.io.stdout.write(zshScript(root));
      else throw new CliError(`completion is available for bash and zsh${shell ? `, not "${shell}"` : ''}: hydra-cli completion bash`);
    });
}
