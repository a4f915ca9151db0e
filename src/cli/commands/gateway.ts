// `balanceroute gateway`: its flags and help live beside the command (gatewayCommand.ts).
export { addGatewayCommand as register } from '../gatewayCommand.ts';
